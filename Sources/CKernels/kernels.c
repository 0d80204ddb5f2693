#include "CKernels.h"
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// A's rows, padded with zero rows to eight: `t` holds A transposed ([k, 8], for the broadcast of
// one column's eight values), `r` holds it by rows ([8, k], for dot products along k).
static float *padded_transposed(int m, int k, const float *a, int lda) {
    float *t = calloc((size_t)k * 8, sizeof(float));
    if (!t) return NULL;
    for (int i = 0; i < m; i++)
        for (int p = 0; p < k; p++) t[(size_t)p * 8 + i] = a[(size_t)i * lda + p];
    return t;
}

static float *padded_rows(int m, int k, const float *a, int lda) {
    float *r = calloc((size_t)k * 8, sizeof(float));
    if (!r) return NULL;
    for (int i = 0; i < m; i++) memcpy(r + (size_t)i * k, a + (size_t)i * lda, (size_t)k * sizeof(float));
    return r;
}

// ---- portable C ----

static void nn_portable(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc, int acc) {
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        if (!acc) memset(ci, 0, (size_t)n * sizeof(float));
        for (int p = 0; p < k; p++) {
            const float s = a[(size_t)i * lda + p];
            const float *bp = b + (size_t)p * ldb;
            for (int j = 0; j < n; j++) ci[j] += s * bp[j];
        }
    }
}

static void bt_portable(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc, int acc) {
    for (int i = 0; i < m; i++)
        for (int r = 0; r < n; r++) {
            const float *ai = a + (size_t)i * lda, *br = b + (size_t)r * ldb;
            float s = 0;
            for (int p = 0; p < k; p++) s += ai[p] * br[p];
            c[(size_t)i * ldc + r] = acc ? c[(size_t)i * ldc + r] + s : s;
        }
}

#if defined(__x86_64__)

// ---- AVX-512: 8 rows × 32 columns of C in 16 registers ----

__attribute__((target("avx512f")))
static void nn_avx512(int m, int n, int k, const float *at, const float *b, int ldb, float *c, int ldc, int acc) {
    for (int j = 0; j < n; j += 32) {
        const int w = n - j;
        const __mmask16 m0 = w >= 16 ? 0xFFFF : (__mmask16)((1u << w) - 1);
        const __mmask16 m1 = w >= 32 ? 0xFFFF : w > 16 ? (__mmask16)((1u << (w - 16)) - 1) : 0;
        __m512 lo[8], hi[8];
        for (int i = 0; i < 8; i++) { lo[i] = _mm512_setzero_ps(); hi[i] = _mm512_setzero_ps(); }
        for (int p = 0; p < k; p++) {
            const float *bp = b + (size_t)p * ldb + j;
            const __m512 b0 = _mm512_maskz_loadu_ps(m0, bp), b1 = _mm512_maskz_loadu_ps(m1, bp + 16);
            const float *ap = at + (size_t)p * 8;
            for (int i = 0; i < 8; i++) {
                const __m512 s = _mm512_set1_ps(ap[i]);
                lo[i] = _mm512_fmadd_ps(s, b0, lo[i]);
                hi[i] = _mm512_fmadd_ps(s, b1, hi[i]);
            }
        }
        for (int i = 0; i < m; i++) {
            float *ci = c + (size_t)i * ldc + j;
            if (acc) {
                lo[i] = _mm512_add_ps(lo[i], _mm512_maskz_loadu_ps(m0, ci));
                hi[i] = _mm512_add_ps(hi[i], _mm512_maskz_loadu_ps(m1, ci + 16));
            }
            _mm512_mask_storeu_ps(ci, m0, lo[i]);
            _mm512_mask_storeu_ps(ci + 16, m1, hi[i]);
        }
    }
}

// Two rows of B at a time against A's eight padded rows: 16 running sums of 16 lanes.
__attribute__((target("avx512f")))
static void bt_avx512(int m, int n, int k, const float *ar, const float *b, int ldb, float *c, int ldc, int acc) {
    for (int r = 0; r < n; r += 2) {
        const int two = n - r >= 2;
        const float *b0p = b + (size_t)r * ldb, *b1p = two ? b0p + ldb : b0p;
        __m512 s0[8], s1[8];
        for (int i = 0; i < 8; i++) { s0[i] = _mm512_setzero_ps(); s1[i] = _mm512_setzero_ps(); }
        for (int p = 0; p < k; p += 16) {
            const int w = k - p;
            const __mmask16 mk = w >= 16 ? 0xFFFF : (__mmask16)((1u << w) - 1);
            const __m512 b0 = _mm512_maskz_loadu_ps(mk, b0p + p), b1 = _mm512_maskz_loadu_ps(mk, b1p + p);
            for (int i = 0; i < 8; i++) {
                const __m512 av = _mm512_maskz_loadu_ps(mk, ar + (size_t)i * k + p);
                s0[i] = _mm512_fmadd_ps(av, b0, s0[i]);
                s1[i] = _mm512_fmadd_ps(av, b1, s1[i]);
            }
        }
        for (int i = 0; i < m; i++) {
            float *ci = c + (size_t)i * ldc + r;
            const float v0 = _mm512_reduce_add_ps(s0[i]);
            ci[0] = acc ? ci[0] + v0 : v0;
            if (two) {
                const float v1 = _mm512_reduce_add_ps(s1[i]);
                ci[1] = acc ? ci[1] + v1 : v1;
            }
        }
    }
}

// ---- AVX2 with FMA: 8 rows × 8 columns of C in 8 registers ----

__attribute__((target("avx2,fma")))
static __m256i tail_mask8(int w) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(w), lanes);
}

__attribute__((target("avx2,fma")))
static void nn_avx2(int m, int n, int k, const float *at, const float *b, int ldb, float *c, int ldc, int acc) {
    for (int j = 0; j < n; j += 8) {
        const int w = n - j;
        const __m256i mk = tail_mask8(w);
        __m256 s[8];
        for (int i = 0; i < 8; i++) s[i] = _mm256_setzero_ps();
        for (int p = 0; p < k; p++) {
            const float *bp = b + (size_t)p * ldb + j;
            const __m256 bv = w >= 8 ? _mm256_loadu_ps(bp) : _mm256_maskload_ps(bp, mk);
            const float *ap = at + (size_t)p * 8;
            for (int i = 0; i < 8; i++) s[i] = _mm256_fmadd_ps(_mm256_broadcast_ss(ap + i), bv, s[i]);
        }
        for (int i = 0; i < m; i++) {
            float *ci = c + (size_t)i * ldc + j;
            if (w >= 8) {
                _mm256_storeu_ps(ci, acc ? _mm256_add_ps(s[i], _mm256_loadu_ps(ci)) : s[i]);
            } else {
                _mm256_maskstore_ps(ci, mk, acc ? _mm256_add_ps(s[i], _mm256_maskload_ps(ci, mk)) : s[i]);
            }
        }
    }
}

__attribute__((target("avx2,fma")))
static float hsum256(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

// Two rows of B at a time against four of A's padded rows: 8 running sums of 8 lanes.
__attribute__((target("avx2,fma")))
static void bt_avx2(int m, int n, int k, const float *ar, const float *b, int ldb, float *c, int ldc, int acc) {
    for (int r = 0; r < n; r += 2) {
        const int two = n - r >= 2;
        const float *b0p = b + (size_t)r * ldb, *b1p = two ? b0p + ldb : b0p;
        for (int h = 0; h < m; h += 4) {
            __m256 s0[4], s1[4];
            for (int i = 0; i < 4; i++) { s0[i] = _mm256_setzero_ps(); s1[i] = _mm256_setzero_ps(); }
            for (int p = 0; p < k; p += 8) {
                const int w = k - p;
                const __m256i mk = tail_mask8(w);
                const __m256 b0 = w >= 8 ? _mm256_loadu_ps(b0p + p) : _mm256_maskload_ps(b0p + p, mk);
                const __m256 b1 = w >= 8 ? _mm256_loadu_ps(b1p + p) : _mm256_maskload_ps(b1p + p, mk);
                for (int i = 0; i < 4; i++) {
                    const float *ai = ar + (size_t)(h + i) * k + p;
                    const __m256 av = w >= 8 ? _mm256_loadu_ps(ai) : _mm256_maskload_ps(ai, mk);
                    s0[i] = _mm256_fmadd_ps(av, b0, s0[i]);
                    s1[i] = _mm256_fmadd_ps(av, b1, s1[i]);
                }
            }
            for (int i = 0; i < 4 && h + i < m; i++) {
                float *ci = c + (size_t)(h + i) * ldc + r;
                const float v0 = hsum256(s0[i]);
                ci[0] = acc ? ci[0] + v0 : v0;
                if (two) {
                    const float v1 = hsum256(s1[i]);
                    ci[1] = acc ? ci[1] + v1 : v1;
                }
            }
        }
    }
}

#endif

static int chosen_isa = 0;

int motive_small_m_supported_isa(void) {
    int isa = 1;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) isa = 3;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isa = 2;
#endif
    return isa;
}

int motive_small_m_isa(void) {
    int isa = __atomic_load_n(&chosen_isa, __ATOMIC_RELAXED);
    if (isa) return isa;
    isa = motive_small_m_supported_isa();
    __atomic_store_n(&chosen_isa, isa, __ATOMIC_RELAXED);
    return isa;
}

void motive_small_m_set_isa(int isa) {
    const int best = motive_small_m_supported_isa();
    __atomic_store_n(&chosen_isa, isa <= 0 || isa > best ? best : isa, __ATOMIC_RELAXED);
}

void motive_gemm_small_m(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                         float *c, int ldc, int accumulate) {
    if (m <= 0 || n <= 0) return;
    const int isa = motive_small_m_isa();
    float *at = (isa > 1 && m <= 8 && k > 0) ? padded_transposed(m, k, a, lda) : NULL;
    if (!at) { nn_portable(m, n, k, a, lda, b, ldb, c, ldc, accumulate); return; }
#if defined(__x86_64__)
    if (isa == 3) nn_avx512(m, n, k, at, b, ldb, c, ldc, accumulate);
    else nn_avx2(m, n, k, at, b, ldb, c, ldc, accumulate);
#endif
    free(at);
}

void motive_gemm_small_m_bt(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                            float *c, int ldc, int accumulate) {
    if (m <= 0 || n <= 0) return;
    const int isa = motive_small_m_isa();
    float *ar = (isa > 1 && m <= 8 && k > 0) ? padded_rows(m, k, a, lda) : NULL;
    if (!ar) { bt_portable(m, n, k, a, lda, b, ldb, c, ldc, accumulate); return; }
#if defined(__x86_64__)
    if (isa == 3) bt_avx512(m, n, k, ar, b, ldb, c, ldc, accumulate);
    else bt_avx2(m, n, k, ar, b, ldb, c, ldc, accumulate);
#endif
    free(ar);
}
