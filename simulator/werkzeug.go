package simulator

import (
	"fmt"
	"html"
	"net/http"
	"slices"
	"strings"
)

// htmlError is Werkzeug's default HTML page for an HTTP exception (eduMFA
// leaves unknown routes, wrong methods and undecodable JSON to Flask).
func htmlError(status int, name, description string) reply {
	body := fmt.Sprintf("<!doctype html>\n<html lang=en>\n<title>%d %s</title>\n<h1>%s</h1>\n<p>%s</p>\n",
		status, html.EscapeString(name), html.EscapeString(name), description)
	return reply{status: status, contentType: "text/html; charset=utf-8", body: []byte(body)}
}

func notFound() reply {
	return htmlError(http.StatusNotFound, "Not Found",
		"The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.")
}

func methodNotAllowed(methods []string) reply {
	allow := slices.Clone(methods)
	if slices.Contains(allow, http.MethodGet) {
		allow = append(allow, http.MethodHead)
	}
	allow = append(allow, http.MethodOptions)
	slices.Sort(allow)
	r := htmlError(http.StatusMethodNotAllowed, "Method Not Allowed", "The method is not allowed for the requested URL.")
	r.header = http.Header{"Allow": {strings.Join(allow, ", ")}}
	return r
}

// badJSON is Werkzeug's answer to a JSON content type whose body does not
// parse. Python's exact parser message cannot be reproduced; the first part
// is Werkzeug's.
func badJSON() reply {
	return htmlError(http.StatusBadRequest, "Bad Request", "Failed to decode JSON object: the body is not valid JSON")
}

func tooLarge() reply {
	return htmlError(http.StatusRequestEntityTooLarge, "Request Entity Too Large",
		"The data value transmitted exceeds the capacity limit.")
}

// slashRedirect is Werkzeug's 308 for a route declared with a trailing
// slash and requested without it.
func slashRedirect(r *http.Request) reply {
	target := "http://" + r.Host + r.URL.Path + "/"
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	esc := html.EscapeString(target)
	body := "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n" +
		"<p>You should be redirected automatically to the target URL: <a href=\"" + esc + "\">" + esc + "</a>. If not, click the link.\n"
	return reply{status: http.StatusPermanentRedirect, contentType: "text/html; charset=utf-8", body: []byte(body),
		header: http.Header{"Location": {target}}}
}
