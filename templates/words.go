package templates

import (
	"fmt"
	"strings"
	"time"
)

// The public pages' words in Spanish, by their English: a page writes
// {{t .Lang "Report a problem"}}, and a word missing here shows in
// English (a test lists every word the pages use).
var spanish = map[string]string{
	// base.html, home.html, error.html
	"Español":                         "English",
	"lang-switch":                     "en",
	"Report a problem":                "Reportar un problema",
	"Report a problem to the City of": "Reporte un problema a la Ciudad de",
	"Or text or call the city's 311 number, email 311, or use any Open311 app. Every report gets a number you can follow here.": "O envíe un mensaje de texto o llame al 311 de la ciudad, escriba un correo al 311, o use cualquier aplicación Open311. Cada reporte recibe un número que puede seguir aquí.",
	"What you can report":               "Lo que puede reportar",
	"Recent reports":                    "Reportes recientes",
	"What":                              "Qué",
	"Where":                             "Dónde",
	"Status":                            "Estado",
	"Reported":                          "Reportado",
	"No reports yet.":                   "Todavía no hay reportes.",
	"Developers: this city speaks":      "Desarrolladores: esta ciudad habla",
	"Not found":                         "No encontrado",
	"There is no such page or request.": "No existe esa página o reporte.",
	"Temporarily unavailable":           "No disponible por el momento",
	"Please try again in a moment.":     "Por favor, intente de nuevo en un momento.",
	"Something went wrong":              "Algo salió mal",
	"Please try again later.":           "Por favor, intente más tarde.",
	"Too many reports":                  "Demasiados reportes",
	// request.html
	"Thank you: your report is request":      "Gracias: su reporte es el número",
	"The city aims to respond by":            "La ciudad busca responder antes del",
	"Keep this page's address to follow it.": "Guarde la dirección de esta página para seguirlo.",
	"people reported this":                   "personas reportaron esto",
	"This is the same issue as":              "Es el mismo problema que",
	"follow it there.":                       "sígalo ahí.",
	"Map":                                    "Mapa",
	"Map of where it is":                     "Mapa del lugar",
	"Expected by":                            "Para el",
	"Description":                            "Descripción",
	"Photo of the reported problem":          "Foto del problema reportado",
	"Progress":                               "Avance",
	// report.html, form.html
	"Nothing was sent: see what is wrong beside each field.": "No se envió nada: vea el problema junto a cada campo.",
	"The problem":    "El problema",
	"You (optional)": "Usted (opcional)",
	"The city never shows who reported what. Without an email or a phone you still get a page to follow.": "La ciudad nunca muestra quién reportó qué. Sin correo ni teléfono igual recibe una página para seguirlo.",
	"Name":                               "Nombre",
	"Email":                              "Correo electrónico",
	"Mobile phone":                       "Teléfono celular",
	"How to hear back":                   "Cómo recibir noticias",
	"By email":                           "Por correo",
	"By text message":                    "Por mensaje de texto",
	"No updates: I will follow the page": "Sin avisos: seguiré la página",
	"Send the report":                    "Enviar el reporte",
	"Kind of problem":                    "Tipo de problema",
	"Pick one":                           "Elija uno",
	"Questions for":                      "Preguntas sobre",
	"(required)":                         "(obligatorio)",
	"What is wrong":                      "Qué pasa",
	"Where: an address, cross streets or a landmark": "Dónde: una dirección, un cruce de calles o un lugar conocido",
	"Use my location": "Usar mi ubicación",
	"Map: click to put the pin where the problem is (optional: the address is enough)": "Mapa: toque para poner el marcador donde está el problema (opcional: basta con la dirección)",
	"Photos":                   "Fotos",
	"Already reported nearby?": "¿Ya reportado cerca?",
	"Open requests of this kind within 150 m. If it is one of them, the report joins it and its updates reach the resident. (Photos are not kept between steps: attach them again.)": "Reportes abiertos de este tipo a menos de 150 m. Si es uno de ellos, el reporte se une a él y recibirá sus avisos. (Las fotos no se guardan entre pasos: adjúntelas de nuevo.)",
	"m away":                        "m",
	"report(s)":                     "reporte(s)",
	"The same: follow":              "El mismo: seguir el",
	"None of these: report it anew": "Ninguno: reportarlo como nuevo",
	"Unclassified":                  "Sin clasificar",
	// reportform's problems
	"Pick the kind of problem.":                                                      "Elija el tipo de problema.",
	"The pin on the map is not a position: put it again.":                            "El marcador no es una posición: póngalo de nuevo.",
	"Not an address we can place: check it, or put a pin on the map.":                "No podemos ubicar esa dirección: revísela o ponga un marcador en el mapa.",
	"Say where it is: an address, cross streets or a landmark, or a pin on the map.": "Diga dónde está: una dirección, un cruce de calles, un lugar conocido o un marcador en el mapa.",
	// list.html
	"Any":           "Cualquiera",
	"Open":          "Abiertos",
	"Neighbourhood": "Barrio",
	"Show":          "Mostrar",
	"Older reports": "Reportes anteriores",
	"Follow these reports in a feed reader (Atom)": "Siga estos reportes en un lector de noticias (Atom)",
	"All recent reports":                           "Todos los reportes recientes",
	// announcements.html, announcement.html, the banner, the feeds
	"Announcements":              "Avisos",
	"Emergency notices in force": "Avisos de emergencia vigentes",
	"Public meetings":            "Reuniones públicas",
	"Events":                     "Eventos",
	"None coming up.":            "Ninguno próximamente.",
	"All announcements":          "Todos los avisos",
	"Public meeting":             "Reunión pública",
	"Event":                      "Evento",
	"Emergency":                  "Emergencia",
	"Advisory":                   "Aviso",
	"Watch":                      "Vigilancia",
	"Warning":                    "Advertencia",
	"Cancelled":                  "Cancelado",
	"Ended":                      "Terminado",
	"From":                       "Desde el",
	"until":                      "hasta el",
	"Agenda":                     "Orden del día",
	"Watch the video":            "Ver el video",
	"meetings and events":        "reuniones y eventos",
	"Public meetings and events": "Reuniones públicas y eventos",
	"Add the meetings and events to your calendar":     "Agregue las reuniones y eventos a su calendario",
	"Follow the announcements in a feed reader (Atom)": "Siga los avisos en un lector de noticias (Atom)",
	// alerts.html
	"Emergency notices": "Avisos de emergencia",
	"Check your mail: follow the link we sent to confirm. Nothing is sent until you do.":                "Revise su correo: siga el enlace que le enviamos para confirmar. No se envía nada hasta que lo haga.",
	"Confirmed: the city's emergency notices will reach you by mail. Each one has a link to stop them.": "Confirmado: los avisos de emergencia de la ciudad le llegarán por correo. Cada uno trae un enlace para dejar de recibirlos.",
	"This link is not valid any more. Sign up again below if you wish.":                                 "Este enlace ya no es válido. Puede inscribirse de nuevo abajo si lo desea.",
	"Send me the notices":              "Envíenme los avisos",
	"The city does not send mail yet.": "La ciudad todavía no envía correo.",
	"The city cannot write to that kind of address yet: try the other kind.": "La ciudad todavía no puede escribir a ese tipo de dirección: pruebe con el otro.",
	"This is not an email address we can write to.":                          "No es una dirección de correo a la que podamos escribir.",
	"Too many sign-ups from this connection. Please try again later.":        "Demasiadas inscripciones desde esta conexión. Por favor, intente más tarde.",
	"The form could not be read.":                                            "No se pudo leer el formulario.",
	"Get the emergency notices by text or mail":                              "Reciba los avisos de emergencia por texto o correo",
	"When there is an emergency in the city (a flood, a fire, a boil-water order), we send a short notice. By text: send ALERTS to the city's 311 number (ALERTAS for Spanish); STOP ends it. By mail:": "Cuando hay una emergencia en la ciudad (una inundación, un incendio, una orden de hervir el agua), enviamos un aviso breve. Por texto: envíe ALERTAS al número 311 de la ciudad (ALERTS para inglés); STOP los termina. Por correo:",
	"Follow a request": "Seguir un reporte",
	"Confirmed: this request's updates will reach you by mail. Each one has a link to stop them.": "Confirmado: las novedades de este reporte le llegarán por correo. Cada una trae un enlace para dejar de recibirlas.",
	"Stop these messages from the city at this address?":                                          "¿Dejar de recibir estos mensajes de la ciudad en esta dirección?",
	"Stop them": "Dejar de recibirlos",
	"Done: no more of these messages will be sent to this address.":                               "Listo: no se enviarán más de estos mensajes a esta dirección.",
	"Get this request's updates by mail, or text FOLLOW and its number to the city's 311 number.": "Reciba las novedades de este reporte por correo, o envíe SEGUIR y su número al número 311 de la ciudad.",
	"Follow it": "Seguirlo",
	"The messages come in the language of this page. Your address is used for nothing else, and never shown.": "Los mensajes llegan en el idioma de esta página. Su dirección no se usa para nada más, y nunca se muestra.",
	"Follow this issue": "Seguir este problema",
	"Get its updates by mail (we send a link to confirm), or text FOLLOW": "Reciba sus novedades por correo (le enviamos un enlace para confirmar), o envíe por texto SEGUIR",
	"to the city's 311 number.": "al número 311 de la ciudad.",
	// signin.html, account.html
	"Sign in":                        "Entrar",
	"Add a phone or an email":        "Agregar un teléfono o un correo",
	"We mailed a link and a code to": "Enviamos un enlace y un código a",
	"We texted a code to":            "Enviamos un código por texto a",
	"It works once, for 10 minutes.": "Sirve una vez, por 10 minutos.",
	"The six-digit code":             "El código de seis dígitos",
	"Send another":                   "Enviar otro",
	"No password: we text a code to your mobile phone, or mail a link to your address. Your account then gathers every report made from them, by text, mail, phone or here.": "Sin contraseña: le enviamos un código por texto a su celular, o un enlace a su correo. Su cuenta reúne entonces todos los reportes hechos desde ellos, por texto, correo, teléfono o aquí.",
	"Mobile phone or email": "Celular o correo electrónico",
	"Send me a code":        "Envíenme un código",
	"Type an email address or a mobile phone number.":                    "Escriba un correo electrónico o un número de celular.",
	"Too many sign-ins asked. Please try again in a quarter of an hour.": "Se pidieron demasiados inicios de sesión. Intente de nuevo en un cuarto de hora.",
	"That code or link is wrong, used or expired. Ask for a new one.":    "Ese código o enlace es incorrecto, ya se usó o venció. Pida uno nuevo.",
	"Your reports":                        "Sus reportes",
	"Made from":                           "Hechos desde",
	"and":                                 "y",
	"by text, mail, phone or on the web.": "por texto, correo, teléfono o en la web.",
	"Change your phone or email":          "Cambiar su teléfono o correo",
	"Add your mobile phone":               "Agregar su celular",
	"Add your email":                      "Agregar su correo",
	"Reports made from it join this list once you confirm it.": "Los reportes hechos desde allí se suman a esta lista cuando lo confirme.",
	"Sign out":                             "Salir",
	"Requests you follow":                  "Reportes que sigue",
	"Stop following":                       "Dejar de seguir",
	"Language of the messages we send you": "Idioma de los mensajes que le enviamos",
	"Save":                                 "Guardar",
	"Delete your account":                  "Borrar su cuenta",
	"Your phone, email and name are removed from the city's records. Your reports stay, without them, and you hear no more about them.": "Su teléfono, correo y nombre se borran de los registros de la ciudad. Sus reportes quedan, sin ellos, y no recibirá más noticias de ellos.",
	"I want to delete my account":    "Quiero borrar mi cuenta",
	"Delete":                         "Borrar",
	"Not fixed?":                     "¿No se arregló?",
	"What is still wrong":            "Qué sigue mal",
	"Reopen it":                      "Reabrirlo",
	"Map of these reports":           "Mapa de estos reportes",
	"How to hear about your reports": "Cómo recibir noticias de sus reportes",
	"The way each came":              "Por donde llegó cada uno",
	"By text":                        "Por texto",
	"By mail":                        "Por correo",
	"Not at all":                     "De ninguna forma",
	"By text: yes.":                  "Por texto: sí.",
	"By text: no.":                   "Por texto: no.",
	"By mail: yes.":                  "Por correo: sí.",
	"The week's meetings and events": "Las reuniones y eventos de la semana",
	"Each Monday by mail: yes.":      "Cada lunes por correo: sí.",
	"Each Monday by mail: no.":       "Cada lunes por correo: no.",
	"Stop the weekly mail":           "Dejar de recibir el correo semanal",
	"Get the weekly mail":            "Recibir el correo semanal",
	"By mail: no.":                   "Por correo: no.",
	"Stop them by text":              "Dejar de recibirlos por texto",
	"Get them by text":               "Recibirlos por texto",
	"Stop them by mail":              "Dejar de recibirlos por correo",
	"Get them by mail":               "Recibirlos por correo",
	"Confirmed: each Monday the week's meetings and events will reach you by mail. Each mail has a link to stop them.": "Confirmado: cada lunes le llegarán por correo las reuniones y eventos de la semana. Cada correo trae un enlace para dejar de recibirlos.",
	"Meetings and events, each week": "Reuniones y eventos, cada semana",
	"Each Monday morning, a mail of the city's public meetings and events of the coming seven days.": "Cada lunes por la mañana, un correo con las reuniones públicas y eventos de la ciudad de los próximos siete días.",
	"Send me the week's meetings and events":                                                         "Envíenme las reuniones y eventos de la semana",
	"is needed to hear back by mail":                                                                 "hace falta para recibir noticias por correo",
	"is needed to hear back by text":                                                                 "hace falta para recibir noticias por texto",
	"is not a valid phone number":                                                                    "no es un número de teléfono válido",
	"is not a valid email address":                                                                   "no es un correo electrónico válido",
	// statuses and reasons
	"Received":                     "Recibido",
	"Acknowledged":                 "Confirmado",
	"In progress":                  "En proceso",
	"Closed":                       "Cerrado",
	"resolved":                     "resuelto",
	"same issue as another report": "el mismo problema que otro reporte",
	"referred to another agency":   "remitido a otra agencia",
	"no action needed":             "no se necesita acción",
}

// Word is a public page's word in lang: its English, or its Spanish.
func Word(lang, en string) string {
	if lang == "es" {
		if es, ok := spanish[en]; ok {
			return es
		}
	}
	return en
}

var (
	weekdaysES = []string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"}
	monthsES   = []string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
		"septiembre", "octubre", "noviembre", "diciembre"}
)

// When writes t (already in the city's zone) as a page in lang says it:
// "day" (Saturday, July 4), "full" (with the year and the time) or "short"
// (Jul 4, 4:30 PM).
func When(lang string, t time.Time, form string) string {
	if lang == "es" {
		month, wd := monthsES[t.Month()-1], weekdaysES[t.Weekday()]
		switch form {
		case "day":
			return fmt.Sprintf("%s %d de %s", wd, t.Day(), month)
		case "full":
			return fmt.Sprintf("%s %d de %s de %d, %s", wd, t.Day(), month, t.Year(), t.Format("15:04"))
		default:
			return fmt.Sprintf("%d %s, %s", t.Day(), strings.ToLower(month[:3]), t.Format("15:04"))
		}
	}
	switch form {
	case "day":
		return t.Format("Monday, January 2")
	case "full":
		return t.Format("Monday, January 2, 2006 3:04 PM")
	}
	return t.Format("Jan 2, 3:04 PM")
}
