package forward

import "fmt"

// forwardOptions are the forward action's options of one call.
type forwardOptions struct {
	server               string
	realm                string
	resolver             string
	forwardClientIP      bool
	forwardAuthorization bool
}

// parseOptions reads the options the host typed per the action's schema
// (strings and bools).
func parseOptions(opts map[string]any) (forwardOptions, error) {
	var o forwardOptions
	var err error
	str := func(name string) string {
		v, ok := opts[name]
		if !ok || err != nil {
			return ""
		}
		s, ok := v.(string)
		if !ok {
			err = fmt.Errorf("option %s: want a string, got %T", name, v)
		}
		return s
	}
	flag := func(name string) bool {
		v, ok := opts[name]
		if !ok || err != nil {
			return false
		}
		b, ok := v.(bool)
		if !ok {
			err = fmt.Errorf("option %s: want a bool, got %T", name, v)
		}
		return b
	}
	o.server = str(OptionServer)
	o.realm = str(OptionRealm)
	o.resolver = str(OptionResolver)
	o.forwardClientIP = flag(OptionForwardClientIP)
	o.forwardAuthorization = flag(OptionForwardAuthorizationToken)
	if err != nil {
		return o, err
	}
	if o.server == "" {
		return o, fmt.Errorf("option %s: no server named", OptionServer)
	}
	return o, nil
}

// edits returns the parameter changes o makes for a client at clientIP, as
// eduMFA's handler makes them: realm and resolver only when not empty;
// client set with forward_client_ip, else removed.
func (o forwardOptions) edits(clientIP string) paramEdits {
	var e paramEdits
	if o.realm != "" {
		e.set = append(e.set, param{"realm", o.realm})
		e.userRealm = o.realm
	}
	if o.resolver != "" {
		e.set = append(e.set, param{"resolver", o.resolver})
	}
	if o.forwardClientIP && clientIP != "" {
		e.set = append(e.set, param{"client", clientIP})
	} else {
		e.remove = append(e.remove, "client")
	}
	return e
}
