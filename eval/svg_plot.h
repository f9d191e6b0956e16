// The accuracy-versus-time chart of an evaluation as a self-contained SVG: one marker per SWAA
// configuration (x = seconds in engine steps, y = accuracy in percent), labelled next to the point
// and in a legend with the configuration's description, "nice" 1-2-5 axis ticks with grid lines,
// a dashed line at full attention's accuracy when a configuration is full attention.
// Tests: tests/unit/eval/report_test.cc.
#pragma once

#include <string>
#include <vector>

#include "eval/report.h"

namespace swaa::eval {

std::string accuracy_time_svg(const std::vector<SettingSummary>& summaries, const ReportInfo& info);

// Tick values covering [lo, hi] with about `target` steps of 1, 2 or 5 x 10^k.
std::vector<double> nice_ticks(double lo, double hi, int target);

}  // namespace swaa::eval
