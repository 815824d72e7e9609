#ifndef SPOTTER_CKERNELS_H
#define SPOTTER_CKERNELS_H

#include <stddef.h>
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

/// Instruction set used by the matmul kernels (0 = AVX2+FMA baseline, 1 = AVX-512).
int spotter_gemm_isa(void);
/// Forces the matmul kernels to the AVX2 baseline (1) or back to the best available (0). For tests and benchmarks.
void spotter_gemm_force_baseline(int force);

// ---------------------------------------------------------------------------------------------------------------
// Packed weights. A linear weight W [N, K] (PyTorch layout, y = x·Wᵀ) is stored as ceil(N/32) panels; panel p holds
// K rows of 32 values W[32p + j][k] (k-major, j minor, zero beyond N). fp32 or bf16 elements.

#define SPOTTER_PANEL 32

/// Source element types for packing and conversion.
enum spotter_dtype { SPOTTER_F32 = 0, SPOTTER_BF16 = 1, SPOTTER_F16 = 2 };

/// Packs rows [n0, n0 + rows) of a row-major [N, K] source into `panel` (K·32 elements) as fp32.
void spotter_pack_panel_f32(const void *src, int src_dtype, size_t K, size_t n0, size_t rows, float *panel);
/// Same, packed as bf16 (fp32 sources are rounded to nearest even, as PyTorch does).
void spotter_pack_panel_bf16(const void *src, int src_dtype, size_t K, size_t n0, size_t rows, uint16_t *panel);

/// Converts `count` elements to fp32.
void spotter_convert_to_f32(const void *src, int src_dtype, size_t count, float *dst);
/// Converts `count` elements to bf16 (round to nearest even).
void spotter_convert_to_bf16(const void *src, int src_dtype, size_t count, uint16_t *dst);

/// C[M, N] (=, or += when `accumulate`) A[M, K] · Wᵀ over the output panels [p0, p1). A rows have stride `lda`,
/// C rows stride `ldc`. `packed` is the whole packed weight (ceil(N/32)·K·32 elements).
void spotter_gemm_f32(const float *A, size_t lda, size_t M, size_t K, const float *packed, size_t N, size_t p0,
                      size_t p1, float *C, size_t ldc, int accumulate);
void spotter_gemm_bf16(const float *A, size_t lda, size_t M, size_t K, const uint16_t *packed, size_t N, size_t p0,
                       size_t p1, float *C, size_t ldc, int accumulate);

/// 1 when the CPU has AVX512_BF16 (and the baseline is not forced).
int spotter_bf16dot_available(void);
/// As spotter_gemm_bf16, but with AVX512_BF16 dot products: A is rounded to bf16 first (fp32 accumulation).
/// Falls back to spotter_gemm_bf16 on CPUs without AVX512_BF16.
void spotter_gemm_bf16dot(const float *A, size_t lda, size_t M, size_t K, const uint16_t *packed, size_t N,
                          size_t p0, size_t p1, float *C, size_t ldc, int accumulate);

// ---------------------------------------------------------------------------------------------------------------
// Int8 weight-only: a panel of int8 weights (same K×32 layout) and one fp32 scale per output column (32 per panel).

/// Quantizes an fp32 panel (K×32) per column: scale = max|w| / 127, q = round-half-even(w / scale) in [−127, 127]
/// (an all-zero column gets scale 0 and q = 0).
void spotter_quantize_panel_i8(const float *panel, size_t K, int8_t *q, float *scales);
/// panel[k][j] = q[k][j] · scales[j] (K×32).
void spotter_dequantize_panel_i8(const int8_t *q, const float *scales, size_t K, float *panel);
/// As spotter_gemm_f32 with int8 panels and per-column `scales` (32 per panel). One row (decode): a GEMV reading
/// each weight byte once, y = scale · Σ a·q; more rows: each panel dequantized to fp32 and multiplied exactly.
void spotter_gemm_i8(const float *A, size_t lda, size_t M, size_t K, const int8_t *packed, const float *scales,
                     size_t N, size_t p0, size_t p1, float *C, size_t ldc, int accumulate);
/// The one-row kernel of spotter_gemm_i8 for an explicit ISA (0 = AVX2+FMA, 1 = AVX-512 where present, else the
/// AVX2 kernel), whatever the dispatch would pick: tests check both on one machine.
void spotter_gemv_i8_isa(int isa, const float *A, size_t K, const int8_t *packed, const float *scales, size_t N,
                         size_t p0, size_t p1, float *C, int accumulate);

// ---------------------------------------------------------------------------------------------------------------
// Row operations (single thread; the Swift side splits rows across threads).

/// out = w ⊙ (x / sqrt(mean(x²) + eps)), over `rows` rows of length n (strides in elements).
void spotter_rmsnorm(const float *x, size_t x_stride, const float *w, float *out, size_t out_stride, size_t rows,
                     size_t n, float eps);
/// Rotate-half RoPE in place on `heads` vectors of length d at x (stride d): x = x·cos + rot(x)·sin.
void spotter_rope(float *x, size_t heads, size_t d, const float *cos, const float *sin);
/// out[i] = silu(gate[i]) · value[i].
void spotter_silu_mul(const float *gate, const float *value, float *out, size_t n);
/// y[i] += x[i].
void spotter_add_inplace(float *y, const float *x, size_t n);

/// Floats of scratch `spotter_attention_block` needs.
size_t spotter_attention_scratch_floats(size_t group, size_t tokens, size_t d, size_t keys);
/// Attention of `nt` consecutive tokens (t0 … t0+nt−1 of a chunk starting at position `start`) × the `group` query
/// heads of one kv head. q: token u, head r at q + u·q_stride + r·d. Keys transposed: kt[c·kt_stride + j]
/// (zero for j ≥ cached tokens, up to a multiple of 16); values v[j·v_stride + c]. Query at position p attends
/// keys j ≤ p, and, if visual[p], every visual key j < chunk_end. Softmax in fp32. d must be a multiple of 8.
/// out may alias q.
void spotter_attention_block(const float *q, size_t q_stride, size_t group, size_t d, const float *kt,
                             size_t kt_stride, const float *v, size_t v_stride, size_t start, size_t t0, size_t nt,
                             const uint8_t *visual, size_t chunk_end, float scale, float *scratch, float *out,
                             size_t out_stride);

// ---------------------------------------------------------------------------------------------------------------
// Vision path (single thread; the Swift side splits rows across threads).

/// Bilinear resize of a packed RGB8 image (rows `src_stride` bytes apart) to dw × dh, with PyTorch's float
/// arithmetic (half-pixel centres, no antialias, `F.interpolate` on a float tensor, then round-half-even and clamp
/// to 0…255), writing output rows [row0, row1). Returns 0, or −1 when out of memory.
int spotter_resize_bilinear_rgb8(const uint8_t *src, size_t sw, size_t sh, size_t src_stride, uint8_t *dst,
                                 size_t dw, size_t dh, size_t dst_stride, size_t row0, size_t row1);
/// LayerNorm over `rows` rows of length n: out = (x − mean) / sqrt(var + eps) · w + b (biased variance).
void spotter_layernorm(const float *x, size_t x_stride, const float *w, const float *b, float *out,
                       size_t out_stride, size_t rows, size_t n, float eps);
/// x[r][i] += bias[i] over `rows` rows of length n.
void spotter_add_bias(float *x, size_t stride, const float *bias, size_t rows, size_t n);
/// x = gelu_tanh(x + bias) in place over `rows` rows of length n.
void spotter_bias_gelu_tanh(float *x, size_t stride, const float *bias, size_t rows, size_t n);
/// Writes keys k (token t, head h at k + t·k_stride + h·d) transposed per head: kt[(h·d + c)·kt_stride + t],
/// zero for tokens ≤ t < kt_stride.
void spotter_transpose_keys(const float *k, size_t k_stride, size_t tokens, size_t heads, size_t d, float *kt,
                            size_t kt_stride);

// ---------------------------------------------------------------------------------------------------------------
// Content digests (cache keys).

/// Folds `n` bytes into a 128-bit digest state (start from any fixed seed; not cryptographic).
void spotter_digest128_update(uint64_t state[2], const void *data, size_t n);

#endif
