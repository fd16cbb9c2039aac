package envelope

import (
	"net/http/httptest"
	"testing"
)

func TestWrite_SendsEduMFAHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	body := Error(CodeParameter, ErrText(CodeParameter, "Missing parameter: 'pass'"), nil)
	Write(rec, 400, body)
	if rec.Code != 400 {
		t.Errorf("status = %d", rec.Code)
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-cache"} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if rec.Body.String() != string(body) {
		t.Errorf("body = %s", rec.Body)
	}
}
