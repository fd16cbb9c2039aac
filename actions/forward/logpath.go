package forward

import (
	"strings"
	"time"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

// logPath is the request path as logs may show it: GET
// /token/getserial/<otp> carries an OTP value in the path itself.
func logPath(call *plugin.Call) string {
	if call.Event == "token_getserial" || strings.Contains(strings.ToLower(call.Request.Path), "getserial") {
		return "/token/getserial/<otp>"
	}
	return call.Request.Path
}

// msSince is the time since start in milliseconds, as the host logs it.
func msSince(start time.Time) float64 {
	return float64(time.Since(start).Microseconds()) / 1000
}
