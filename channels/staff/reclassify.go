package staff

import (
	"net/http"

	"townline/core"
)

// reclassify changes a request's service: it goes to the new service's
// department, or to the one chosen.
func (h *Handler) reclassify(w http.ResponseWriter, r *http.Request) {
	h.act(w, r, "", func(req core.Request, by core.Actor) (string, error) {
		service, dept := r.PostForm.Get("service"), r.PostForm.Get("department")
		if svc, ok := h.core.City().Service(service); ok && dept == "" && svc.Department == "" && !user(r).AllDepartments() {
			return "", &core.ValidationError{Field: "department", Problem: "choose one: only dispatchers send requests to triage"}
		}
		return "Reclassified.", h.core.Reclassify(r.Context(), req.ID, service, dept, by)
	})
}
