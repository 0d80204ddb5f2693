#ifndef MOTIVE_CKERNELS_H
#define MOTIVE_CKERNELS_H

/// Matrix products whose result has at most eight rows, for the layers a general SGEMM serves
/// badly: a convolution with eight output channels multiplies an 8 × K weight by a K × N patch
/// matrix, and a BLAS packs the whole patch matrix to do it. These kernels read B in place and
/// keep the eight rows of C in registers. Each runs the widest instruction set the CPU has
/// (AVX-512, else AVX2 with FMA, else portable C), chosen once at the first call.
///
/// All matrices are row-major with leading dimensions; 1 ≤ m ≤ 8. With `accumulate` the product
/// is added to C, otherwise C is overwritten.

/// C [m, n] = A [m, k] · B [k, n].
void motive_gemm_small_m(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                         float *c, int ldc, int accumulate);

/// C [m, n] = A [m, k] · Bᵀ, where B is [n, k]: each element is a dot product of a row of A and a row of B.
void motive_gemm_small_m_bt(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                            float *c, int ldc, int accumulate);

/// The instruction set the kernels run: 3 AVX-512, 2 AVX2 with FMA, 1 portable C.
int motive_small_m_isa(void);

/// The best instruction set this CPU supports, as above.
int motive_small_m_supported_isa(void);

/// Runs the kernels at `isa`, lowered to what the CPU supports (for tests of every path); 0 restores the best.
void motive_small_m_set_isa(int isa);

#endif
