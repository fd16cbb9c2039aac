package simulator

import "testing"

func TestHOTP_RFC4226TestVectors(t *testing.T) {
	key := []byte("12345678901234567890")
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for c, w := range want {
		if got := hotp(key, uint64(c)); got != w {
			t.Errorf("hotp(counter %d) = %s, want %s", c, got, w)
		}
	}
}

func TestHOTP_FixtureDaveKeyAtCounterZero(t *testing.T) {
	if got := hotp(ChildConfig().Users["dave"].HOTPKey, 0); got != "006951" {
		t.Errorf("dave's OTP at counter 0 = %s, want 006951 (index.md)", got)
	}
}

func TestToken_HOTPCounterAdvancesAndRejectsReplay(t *testing.T) {
	tok := &token{kind: typeHOTP, pin: "pin", key: []byte("12345678901234567890")}
	if _, ok := tok.authenticate("pin359152"); !ok { // counter 2, inside the window
		t.Fatal("OTP at counter 2 rejected")
	}
	if tok.counter != 3 {
		t.Errorf("counter = %d, want 3", tok.counter)
	}
	if pinOK, ok := tok.authenticate("pin359152"); ok || !pinOK {
		t.Errorf("replay: pinOK=%v ok=%v, want PIN match only", pinOK, ok)
	}
	if !tok.isPreviousOTP("359152") || tok.isPreviousOTP("969429") {
		t.Error("isPreviousOTP wrong")
	}
	if _, ok := tok.authenticate("pin520489"); !ok || tok.counter != 10 { // counter 9, inside 3..12
		t.Errorf("OTP at counter 9: ok=%v, counter now %d", ok, tok.counter)
	}
	far := &token{kind: typeHOTP, key: []byte("12345678901234567890")}
	if far.checkOTP(hotp(far.key, hotpWindow)) {
		t.Error("OTP beyond the look-ahead window accepted")
	}
}

func TestSplitPIN_CountsCodePointsLikePython(t *testing.T) {
	pin, otp := splitPIN("pïn123456")
	if pin != "pïn" || otp != "123456" {
		t.Errorf("splitPIN = %q, %q", pin, otp)
	}
	if pin, otp := splitPIN("12345"); pin != "" || otp != "12345" {
		t.Errorf("short pass: %q, %q", pin, otp)
	}
}
