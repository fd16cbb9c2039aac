package plugin

// All conversion between protobuf messages and the domain types lives in this
// file, so that neither host code nor handler code ever sees protobuf.

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/edumfa-federation/edumfa-federation/plugin/pluginpb"
)

func descriptionToProto(d Description) *pluginpb.DescribeResponse {
	out := &pluginpb.DescribeResponse{
		Identifier:      d.Identifier,
		Description:     d.Description,
		ContractVersion: int32(d.ContractVersion),
		Version:         d.Version,
	}
	for _, a := range d.Actions {
		pa := &pluginpb.ActionSpec{Name: a.Name, Description: a.Description}
		for _, o := range a.Options {
			pa.Options = append(pa.Options, &pluginpb.OptionSpec{
				Name: o.Name, Type: pluginpb.OptionType(o.Type), Required: o.Required, Description: o.Description,
			})
		}
		out.Actions = append(out.Actions, pa)
	}
	return out
}

func descriptionFromProto(p *pluginpb.DescribeResponse) Description {
	d := Description{
		Identifier:      p.GetIdentifier(),
		Description:     p.GetDescription(),
		ContractVersion: int(p.GetContractVersion()),
		Version:         p.GetVersion(),
	}
	for _, pa := range p.GetActions() {
		a := ActionSpec{Name: pa.GetName(), Description: pa.GetDescription()}
		for _, o := range pa.GetOptions() {
			a.Options = append(a.Options, OptionSpec{
				Name: o.GetName(), Type: OptionType(o.GetType()), Required: o.GetRequired(), Description: o.GetDescription(),
			})
		}
		d.Actions = append(d.Actions, a)
	}
	return d
}

func serversToProto(servers []Server) []*pluginpb.Server {
	out := make([]*pluginpb.Server, 0, len(servers))
	for _, s := range servers {
		out = append(out, &pluginpb.Server{
			Identifier:  s.Identifier,
			Urls:        append([]string(nil), s.URLs...),
			TlsVerify:   s.TLSVerify,
			CaFile:      s.CAFile,
			CertFile:    s.CertFile,
			KeyFile:     s.KeyFile,
			TimeoutMs:   s.Timeout.Milliseconds(),
			Description: s.Description,
		})
	}
	return out
}

func serversFromProto(ps []*pluginpb.Server) []Server {
	out := make([]Server, 0, len(ps))
	for _, p := range ps {
		out = append(out, Server{
			Identifier:  p.GetIdentifier(),
			URLs:        append([]string(nil), p.GetUrls()...),
			TLSVerify:   p.GetTlsVerify(),
			CAFile:      p.GetCaFile(),
			CertFile:    p.GetCertFile(),
			KeyFile:     p.GetKeyFile(),
			Timeout:     time.Duration(p.GetTimeoutMs()) * time.Millisecond,
			Description: p.GetDescription(),
		})
	}
	return out
}

func headersToProto(h http.Header) []*pluginpb.Header {
	out := make([]*pluginpb.Header, 0, len(h))
	for name, values := range h {
		ph := &pluginpb.Header{Name: name, Values: make([][]byte, len(values))}
		for i, v := range values {
			ph.Values[i] = []byte(v)
		}
		out = append(out, ph)
	}
	return out
}

func headersFromProto(ps []*pluginpb.Header) http.Header {
	h := make(http.Header, len(ps))
	for _, p := range ps {
		// The names were canonical on the sending side; keep them as sent.
		for _, v := range p.GetValues() {
			h[p.GetName()] = append(h[p.GetName()], string(v))
		}
	}
	return h
}

func optionsToProto(opts map[string]any) (map[string]*pluginpb.OptionValue, error) {
	out := make(map[string]*pluginpb.OptionValue, len(opts))
	for k, v := range opts {
		switch v := v.(type) {
		case string:
			out[k] = &pluginpb.OptionValue{Value: &pluginpb.OptionValue_StringValue{StringValue: v}}
		case bool:
			out[k] = &pluginpb.OptionValue{Value: &pluginpb.OptionValue_BoolValue{BoolValue: v}}
		case int:
			out[k] = &pluginpb.OptionValue{Value: &pluginpb.OptionValue_IntValue{IntValue: int64(v)}}
		case int64:
			out[k] = &pluginpb.OptionValue{Value: &pluginpb.OptionValue_IntValue{IntValue: v}}
		default:
			return nil, fmt.Errorf("option %q: unsupported type %T", k, v)
		}
	}
	return out, nil
}

func optionsFromProto(ps map[string]*pluginpb.OptionValue) map[string]any {
	out := make(map[string]any, len(ps))
	for k, p := range ps {
		switch v := p.GetValue().(type) {
		case *pluginpb.OptionValue_StringValue:
			out[k] = v.StringValue
		case *pluginpb.OptionValue_BoolValue:
			out[k] = v.BoolValue
		case *pluginpb.OptionValue_IntValue:
			out[k] = v.IntValue
		}
	}
	return out
}

func callToProto(c *Call) (*pluginpb.DoRequest, error) {
	opts, err := optionsToProto(c.Options)
	if err != nil {
		return nil, err
	}
	allData, err := marshalAllData(c.Request.AllData)
	if err != nil {
		return nil, fmt.Errorf("encode all_data: %w", err)
	}
	req := &pluginpb.DoRequest{
		Event:   c.Event,
		Rule:    c.Rule,
		Action:  c.Action,
		Options: opts,
		Request: &pluginpb.Request{
			Method:      c.Request.Method,
			Path:        []byte(c.Request.Path),
			RawQuery:    []byte(c.Request.RawQuery),
			Headers:     headersToProto(c.Request.Header),
			Body:        c.Request.Body,
			AllDataJson: allData,
			RemoteAddr:  c.Request.RemoteAddr,
		},
		G: &pluginpb.Context{
			ClientIp:    c.G.ClientIP,
			PeerTrusted: c.G.PeerTrusted,
			RequestId:   c.G.RequestID,
			Hops:        int32(c.G.Hops),
			Event:       c.G.Event,
			Origin:      c.G.Origin,
		},
	}
	if c.Response != nil {
		req.Response = &pluginpb.Response{
			Status:  int32(c.Response.Status),
			Headers: headersToProto(c.Response.Header),
			Body:    c.Response.Body,
		}
	}
	return req, nil
}

func callFromProto(p *pluginpb.DoRequest) (*Call, error) {
	var allData map[string]any
	if raw := p.GetRequest().GetAllDataJson(); len(raw) > 0 {
		if err := json.Unmarshal(raw, &allData); err != nil {
			return nil, fmt.Errorf("decode all_data: %w", err)
		}
	}
	r := p.GetRequest()
	g := p.GetG()
	c := &Call{
		Event:   p.GetEvent(),
		Rule:    p.GetRule(),
		Action:  p.GetAction(),
		Options: optionsFromProto(p.GetOptions()),
		Request: Request{
			Method:     r.GetMethod(),
			Path:       string(r.GetPath()),
			RawQuery:   string(r.GetRawQuery()),
			Header:     headersFromProto(r.GetHeaders()),
			Body:       r.GetBody(),
			AllData:    allData,
			RemoteAddr: r.GetRemoteAddr(),
		},
		G: Context{
			ClientIP:    g.GetClientIp(),
			PeerTrusted: g.GetPeerTrusted(),
			RequestID:   g.GetRequestId(),
			Hops:        int(g.GetHops()),
			Event:       g.GetEvent(),
			Origin:      g.GetOrigin(),
		},
	}
	if resp := p.GetResponse(); resp != nil {
		c.Response = &Response{
			Status: int(resp.GetStatus()),
			Header: headersFromProto(resp.GetHeaders()),
			Body:   resp.GetBody(),
		}
	}
	return c, nil
}

func outcomeToProto(o Outcome) *pluginpb.Trailer {
	return &pluginpb.Trailer{
		Origin:       o.Origin,
		Server:       o.Server,
		Attempts:     int32(o.Attempts),
		ErrorKind:    pluginpb.ErrorKind(o.ErrorKind),
		ErrorMessage: o.ErrorMessage,
	}
}

func outcomeFromProto(p *pluginpb.Trailer) Outcome {
	return Outcome{
		Origin:       p.GetOrigin(),
		Server:       p.GetServer(),
		Attempts:     int(p.GetAttempts()),
		ErrorKind:    ErrorKind(p.GetErrorKind()),
		ErrorMessage: p.GetErrorMessage(),
	}
}

// marshalAllData encodes all_data as JSON. A JSON number out of float64's
// range (1e400) decodes to an infinity, which JSON cannot carry: such
// values cross as their string form ("+Inf"); eduMFA (Python) would hold inf.
func marshalAllData(m map[string]any) ([]byte, error) {
	b, err := json.Marshal(m)
	if err == nil {
		return b, nil
	}
	return json.Marshal(finiteJSON(m))
}

func finiteJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = finiteJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = finiteJSON(e)
		}
		return out
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return strconv.FormatFloat(t, 'g', -1, 64)
		}
	}
	return v
}
