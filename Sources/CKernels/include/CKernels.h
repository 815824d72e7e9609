#ifndef SPOTTER_CKERNELS_H
#define SPOTTER_CKERNELS_H

#include <stdint.h>

/// CPU features found at run time (bit set = present).
enum spotter_cpu_feature {
    SPOTTER_CPU_AVX2 = 1 << 0,
    SPOTTER_CPU_FMA = 1 << 1,
    SPOTTER_CPU_F16C = 1 << 2,
    SPOTTER_CPU_AVX512F = 1 << 3,
    SPOTTER_CPU_AVX512BW = 1 << 4,
    SPOTTER_CPU_AVX512VNNI = 1 << 5,
    SPOTTER_CPU_AVX512BF16 = 1 << 6,
};

/// Bit set of `spotter_cpu_feature` for the CPU this process runs on.
uint32_t spotter_cpu_features(void);

#endif
