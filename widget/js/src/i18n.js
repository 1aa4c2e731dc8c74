// Texts of the widget, in English and Spanish. Each language has every
// key; {name} stands for a value filled in by t().

const texts = {
  en: {
    country: "Country",
    phone: "Phone number",
    phoneHint: "We will check that this phone is yours.",
    methodLegend: "How should we check it?",
    "method.flashcall": "Call me, I won't answer: the caller's number is my code",
    "method.sms": "Text me a code",
    "method.voice": "Call me and read me a code",
    "method.inbound_missed": "I'll call you (free: the call is never answered)",
    verify: "Verify",
    starting: "Starting…",
    invalidNumber: "Enter a valid phone number for the country you chose.",
    "status.flashcall.pending": "Calling {number}…",
    "status.flashcall.ringing": "Your phone is ringing. No need to answer: the number calling you holds your code.",
    "status.flashcall.rang": "The call has ended. Enter the last {n} digits of the number that called you.",
    "status.sms.pending": "Sending a text to {number}…",
    "status.sms.sent": "We sent a text to {number}. Enter the code it holds.",
    "status.voice.pending": "Calling {number}…",
    "status.voice.ringing": "Your phone is ringing. Answer it and listen for the code.",
    "status.voice.answered": "Listen for the code, then enter it here.",
    "status.inbound_missed.pending": "Waiting for your call from {number}…",
    "status.verified": "Verified: {number} is yours.",
    "status.failed.attempts_exhausted": "Too many wrong codes. Start again to get a new one.",
    "status.failed": "We could not reach {number}. Check the number and start again.",
    "status.expired": "The code has expired. Start again to get a new one.",
    "status.canceled": "This check was canceled. Start again to get a new code.",
    "status.fallback": "Trying another way…",
    "status.fallback_failed": "We could not try another way. Start again.",
    cliLabel: "The call comes from {prefix} followed by your code",
    cliShown: "The call comes from",
    codeFlash: "Last {n} digits of the number that called you",
    codeText: "Code from the text",
    codeVoice: "Code you heard",
    check: "Check code",
    checking: "Checking…",
    wrongCode: "That code is not right. {left} attempts left.",
    wrongCodeOne: "That code is not right. 1 attempt left.",
    codeFormat: "Enter {n} digits.",
    noCall: "No call came?",
    noText: "No text came?",
    tryText: "Text me a code instead",
    tryVoice: "Call me with a code instead",
    tryFlash: "Call me instead",
    startAgain: "Start again",
    dialIntro: "Call this number from {number}. We'll hang up without answering, so the call is free:",
    dialHint: "On a phone, tap the number to call it.",
    verifiedTitle: "Phone number verified",
    errNetwork: "We can't reach the verification service. Check your connection and try again.",
    errOrigin: "This page may not use this verification key.",
    errRate: "Too many attempts from your network. Try again in {s} seconds.",
    errTooMany: "Too many verifications of this number lately. Try again later.",
    errMethod: "This way of checking is not available here.",
    errGeneric: "Something went wrong ({code}). Start again.",
    errNoKey: "The widget has no key (data-ringproof-key).",
  },
  es: {
    country: "País",
    phone: "Número de teléfono",
    phoneHint: "Comprobaremos que este teléfono es tuyo.",
    methodLegend: "¿Cómo lo comprobamos?",
    "method.flashcall": "Llámame y no contesto: el número que llama es mi código",
    "method.sms": "Envíame un código por SMS",
    "method.voice": "Llámame y dime un código",
    "method.inbound_missed": "Yo llamo (gratis: nadie contesta la llamada)",
    verify: "Verificar",
    starting: "Empezando…",
    invalidNumber: "Escribe un número de teléfono válido para el país elegido.",
    "status.flashcall.pending": "Llamando al {number}…",
    "status.flashcall.ringing": "Tu teléfono está sonando. No hace falta contestar: el número que llama contiene tu código.",
    "status.flashcall.rang": "La llamada ha terminado. Escribe las últimas {n} cifras del número que te llamó.",
    "status.sms.pending": "Enviando un SMS al {number}…",
    "status.sms.sent": "Hemos enviado un SMS al {number}. Escribe el código que contiene.",
    "status.voice.pending": "Llamando al {number}…",
    "status.voice.ringing": "Tu teléfono está sonando. Contesta y escucha el código.",
    "status.voice.answered": "Escucha el código y escríbelo aquí.",
    "status.inbound_missed.pending": "Esperando tu llamada desde el {number}…",
    "status.verified": "Verificado: el {number} es tuyo.",
    "status.failed.attempts_exhausted": "Demasiados códigos incorrectos. Vuelve a empezar para recibir otro.",
    "status.failed": "No hemos podido contactar con el {number}. Revisa el número y vuelve a empezar.",
    "status.expired": "El código ha caducado. Vuelve a empezar para recibir otro.",
    "status.canceled": "Esta comprobación se ha cancelado. Vuelve a empezar para recibir otro código.",
    "status.fallback": "Probando de otra forma…",
    "status.fallback_failed": "No hemos podido probar de otra forma. Vuelve a empezar.",
    cliLabel: "La llamada viene del {prefix} seguido de tu código",
    cliShown: "La llamada viene del",
    codeFlash: "Últimas {n} cifras del número que te llamó",
    codeText: "Código del SMS",
    codeVoice: "Código que has oído",
    check: "Comprobar código",
    checking: "Comprobando…",
    wrongCode: "El código no es correcto. Quedan {left} intentos.",
    wrongCodeOne: "El código no es correcto. Queda 1 intento.",
    codeFormat: "Escribe {n} cifras.",
    noCall: "¿No ha llegado la llamada?",
    noText: "¿No ha llegado el SMS?",
    tryText: "Envíame un SMS en su lugar",
    tryVoice: "Llámame con un código en su lugar",
    tryFlash: "Llámame en su lugar",
    startAgain: "Volver a empezar",
    dialIntro: "Llama a este número desde el {number}. Colgaremos sin contestar, así que la llamada es gratis:",
    dialHint: "En el móvil, toca el número para llamar.",
    verifiedTitle: "Número de teléfono verificado",
    errNetwork: "No podemos contactar con el servicio de verificación. Revisa tu conexión y vuelve a intentarlo.",
    errOrigin: "Esta página no puede usar esta clave de verificación.",
    errRate: "Demasiados intentos desde tu red. Vuelve a intentarlo en {s} segundos.",
    errTooMany: "Demasiadas verificaciones de este número últimamente. Inténtalo más tarde.",
    errMethod: "Esta forma de comprobarlo no está disponible aquí.",
    errGeneric: "Algo ha fallado ({code}). Vuelve a empezar.",
    errNoKey: "El widget no tiene clave (data-ringproof-key).",
  },
};

// languages lists the languages the widget speaks.
export const languages = Object.keys(texts);

// pickLanguage returns the first of wanted (BCP 47 tags, best first) that
// the widget speaks, by its primary subtag, or "en".
export function pickLanguage(wanted) {
  for (const tag of wanted) {
    if (!tag) continue;
    const primary = String(tag).toLowerCase().split("-")[0];
    if (texts[primary]) return primary;
  }
  return "en";
}

// translator returns t(key, values) for lang.
export function translator(lang) {
  const table = texts[lang] || texts.en;
  return (key, values) => {
    let s = table[key];
    if (s === undefined) s = texts.en[key];
    if (s === undefined) return key;
    return s.replace(/\{(\w+)\}/g, (m, name) => (values && name in values ? String(values[name]) : m));
  };
}

// has reports whether key has a text.
export function has(key) {
  return key in texts.en;
}
