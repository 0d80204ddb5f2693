// libFuzzer's driver, linked by -sanitize=fuzzer. SwiftPM gives every executable the module's own
// `main`, so the fuzz targets start the driver from there instead of using libFuzzer's `main`.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
