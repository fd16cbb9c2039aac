package forward

import (
	"strings"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

// logPath is the request path as logs may show it: GET
// /token/getserial/<otp> carries an OTP value in the path itself.
func logPath(call *plugin.Call) string {
	if call.Event == "token_getserial" || strings.HasPrefix(call.Request.Path, "/token/getserial/") {
		return "/token/getserial/<otp>"
	}
	return call.Request.Path
}
