#ifndef SPOTTER_CFFMPEG_SHIM_H
#define SPOTTER_CFFMPEG_SHIM_H

#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>

// Macros that Swift cannot import (function-like or built from compound expressions).
static inline int spotter_averror(int errnum) { return AVERROR(errnum); }
static inline int spotter_averror_eof(void) { return AVERROR_EOF; }
static inline int spotter_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int64_t spotter_av_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline AVRational spotter_av_time_base_q(void) { return AV_TIME_BASE_Q; }

#endif
