#ifndef SPOTTER_CFFMPEG_SHIM_H
#define SPOTTER_CFFMPEG_SHIM_H

#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <math.h>

// Macros that Swift cannot import (function-like or built from compound expressions).
static inline int spotter_averror(int errnum) { return AVERROR(errnum); }
static inline int spotter_averror_eof(void) { return AVERROR_EOF; }
static inline int spotter_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int64_t spotter_av_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline AVRational spotter_av_time_base_q(void) { return AV_TIME_BASE_Q; }

// Counter-clockwise rotation in degrees from the stream's display matrix (as
// av_display_rotation_get reports it), or NAN when the stream has no display matrix.
static inline double spotter_stream_display_rotation(const AVStream *stream) {
    size_t size = 0;
    const uint8_t *data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
    if (data == NULL || size < 9 * sizeof(int32_t)) return NAN;
    return av_display_rotation_get((const int32_t *)data);
}

// 1 when the pixel format stores YUV (not RGB, not palette), 0 otherwise.
static inline int spotter_pix_fmt_is_yuv(int format) {
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get((enum AVPixelFormat)format);
    if (desc == NULL) return 0;
    if (desc->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL)) return 0;
    return desc->nb_components >= 3;
}

static inline int spotter_disposition_attached_pic(void) { return AV_DISPOSITION_ATTACHED_PIC; }

#endif
