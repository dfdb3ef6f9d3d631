/**
 * The dashboard's login form. The token is sent once, in an Authorization header of a same-origin POST (never in a
 * URL, where it would land in history and proxy logs); the answer sets the session cookie and the page reloads.
 */
export const LOGIN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cosell-sync — log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:14px system-ui,sans-serif;margin:2rem;color:#1b1b1b} h1{font-size:1.3rem} input{font:inherit;width:28rem;max-width:100%}
 button{font:inherit;padding:.2rem .8rem} .muted{color:#666} .bad{color:#b00020}
</style></head>
<body><h1>cosell-sync</h1>
<form id="login">
<p><label for="token">Admin token</label><br><input id="token" name="token" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Log in</button> <span id="message" class="bad"></span></p>
</form>
<p class="muted">The token is the one the service reads from <code>admin.token</code> (in sandbox mode: <code>data/sandbox/admin.token</code>).</p>
<script>
document.getElementById('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = document.getElementById('token').value.trim();
  const response = await fetch('/login', { method: 'POST', headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' }, body: '{}' });
  if (response.ok) location.assign('/');
  else document.getElementById('message').textContent = response.status === 401 ? 'wrong token' : 'login failed (' + response.status + ')';
});
</script></body></html>`;
