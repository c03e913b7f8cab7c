extension ConsoleAssets {
    /// The page: a frame the script fills. No inline script or style (the CSP forbids both).
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hookhost console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="console.css">
<script src="console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <span class="brand">hookhost</span>
  <nav aria-label="Console pages">
    <a href="#/overview" data-nav="overview">Overview</a>
    <a href="#/deliveries" data-nav="deliveries">Deliveries</a>
    <a href="#/dead" data-nav="dead">Dead letters</a>
    <a href="#/functions" data-nav="functions">Functions</a>
  </nav>
  <span id="live" class="live"></span>
  <button type="button" id="token-button">Admin token</button>
</header>
<div id="flash" class="flash" role="status" aria-live="polite"></div>
<main id="main" tabindex="-1"><p>Loading…</p></main>
<dialog id="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-text">
  <form method="dialog">
    <h2 id="confirm-title">Are you sure?</h2>
    <p id="confirm-text"></p>
    <div class="buttons">
      <button type="submit" value="cancel" id="confirm-cancel">Cancel</button>
      <button type="submit" value="ok" id="confirm-ok" class="danger">Confirm</button>
    </div>
  </form>
</dialog>
<dialog id="token-dialog" aria-labelledby="token-title">
  <form method="dialog" id="token-form">
    <h2 id="token-title">Admin token</h2>
    <p id="token-why">Actions (replay, purge, pause, resume) need the host's HOOKHOST_ADMIN_TOKEN. It is kept in this tab only and sent in a header, never in a URL.</p>
    <label for="token-input">Token</label>
    <input id="token-input" name="token" type="password" autocomplete="off" spellcheck="false">
    <div class="buttons">
      <button type="submit" value="ok" id="token-ok" class="primary">Use token</button>
      <button type="submit" value="forget" id="token-forget">Forget</button>
      <button type="submit" value="cancel" id="token-cancel">Cancel</button>
    </div>
  </form>
</dialog>
<noscript><p>The console needs JavaScript (its own script only; nothing from elsewhere).</p></noscript>
</body>
</html>
"""#
}
