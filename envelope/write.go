package envelope

import (
	"net/http"
	"strconv"
)

// Write sends an envelope body with the headers eduMFA sends with every
// envelope (Content-Type: application/json, Cache-Control: no-cache) and
// the given status. A write error means the client went away; there is no
// one left to tell, so it is not returned.
func Write(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
