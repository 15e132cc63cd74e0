// Who the learner is: a secret this browser keeps in a cookie, never in the address, so a copied link
// hands over nothing. The server makes the secret (32 random bytes) and reads it back from the cookie
// the browser sends when it connects; this only writes the cookie, each visit renewing its days.
// It sends nothing back: a message from here would rerun the page while its widgets are still mounting.

export default function ({ data }) {
  const secure = location.protocol === "https:" ? "; secure" : "";
  const days = Math.round(data.days * 86400);
  document.cookie = `lenet_learner=${data.secret}; path=/; max-age=${days}; samesite=strict${secure}`;
}
