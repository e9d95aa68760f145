/** The status page's HTML: a shell that app.js fills from /status.json (no external resources). */
export const INDEX_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>quorumkv status</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header>
  <h1>quorumkv <span id="self"></span></h1>
  <div id="summary"></div>
  <div id="conn" class="conn">connecting…</div>
</header>
<main>
  <section id="ring-section">
    <h2>Ring</h2>
    <svg id="ring" viewBox="0 0 320 320" role="img" aria-label="token ring"></svg>
    <p class="note">Outer ring: the token space, each range coloured by its primary owner. Inner ring: each node's share.</p>
  </section>
  <section id="nodes-section">
    <h2>Nodes</h2>
    <table id="nodes">
      <thead><tr><th></th><th>node</th><th>address</th><th>dc / rack</th><th>state</th><th>status</th><th>primary</th><th>replica share</th><th>load</th><th>hints it holds</th><th>hints for it here</th><th>heartbeat</th></tr></thead>
      <tbody></tbody>
    </table>
    <p class="note">State, status and ownership are this node's view (its membership table and ring). Load and the hints a node holds (for others) are what it last answered this node; "hints for it here" are those this node keeps for it.</p>
  </section>
  <section id="repair">
    <h2>Anti-entropy repair</h2>
    <div class="body"></div>
  </section>
  <section id="transfers">
    <h2>Range transfers</h2>
    <div class="body"></div>
  </section>
</main>
<script src="/app.js"></script>
</body>
</html>
`;
