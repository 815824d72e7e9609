#include "CKernels.h"

uint32_t spotter_cpu_features(void) {
    uint32_t f = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) f |= SPOTTER_CPU_AVX2;
    if (__builtin_cpu_supports("fma")) f |= SPOTTER_CPU_FMA;
    if (__builtin_cpu_supports("f16c")) f |= SPOTTER_CPU_F16C;
    if (__builtin_cpu_supports("avx512f")) f |= SPOTTER_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512bw")) f |= SPOTTER_CPU_AVX512BW;
    if (__builtin_cpu_supports("avx512vnni")) f |= SPOTTER_CPU_AVX512VNNI;
    if (__builtin_cpu_supports("avx512bf16")) f |= SPOTTER_CPU_AVX512BF16;
#endif
    return f;
}
