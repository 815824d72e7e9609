#ifndef SPOTTER_CNCURSES_SHIM_H
#define SPOTTER_CNCURSES_SHIM_H

// SwiftPM drops the -D flags pkg-config gives, so the wide-character API must be switched on here.
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <curses.h>

// Macros and globals that Swift cannot import or that Swift 6 treats as unsafe shared state.
static inline WINDOW *spotter_stdscr(void) { return stdscr; }
static inline int spotter_lines(void) { return LINES; }
static inline int spotter_cols(void) { return COLS; }
static inline int spotter_colors(void) { return COLORS; }
static inline int spotter_color_pairs(void) { return COLOR_PAIRS; }

static inline mmask_t spotter_all_mouse_events(void) { return ALL_MOUSE_EVENTS; }
static inline mmask_t spotter_report_mouse_position(void) { return REPORT_MOUSE_POSITION; }
static inline mmask_t spotter_button1_pressed(void) { return BUTTON1_PRESSED; }
static inline mmask_t spotter_button1_released(void) { return BUTTON1_RELEASED; }
static inline mmask_t spotter_button1_clicked(void) { return BUTTON1_CLICKED; }
static inline mmask_t spotter_button3_pressed(void) { return BUTTON3_PRESSED; }
static inline mmask_t spotter_button4_pressed(void) { return BUTTON4_PRESSED; }
static inline mmask_t spotter_button5_pressed(void) { return BUTTON5_PRESSED; }
static inline mmask_t spotter_button_shift(void) { return BUTTON_SHIFT; }
static inline mmask_t spotter_button_ctrl(void) { return BUTTON_CTRL; }

static inline attr_t spotter_a_bold(void) { return A_BOLD; }
static inline attr_t spotter_a_reverse(void) { return A_REVERSE; }
static inline attr_t spotter_a_dim(void) { return A_DIM; }
static inline attr_t spotter_a_underline(void) { return A_UNDERLINE; }
static inline attr_t spotter_a_normal(void) { return A_NORMAL; }
static inline chtype spotter_color_pair(int n) { return COLOR_PAIR(n); }

#endif
