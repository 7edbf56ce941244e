from kb.rendering import render_markdown


def test_markdown_features_are_kept():
    html = render_markdown(
        "# Refunds\n\nSome **bold** and a [link](https://example.com/x).\n\n- one\n- two\n\n"
        "| Plan | Price |\n|---|---|\n| Basic | 5 |\n\n```\ncode here\n```\n\n![chart](https://example.com/c.png)"
    )
    assert "<h2>Refunds</h2>" in html
    assert "<strong>bold</strong>" in html
    assert '<a href="https://example.com/x" rel="noopener noreferrer nofollow">link</a>' in html
    assert "<li>one</li>" in html and "<table>" in html and "<td>Basic</td>" in html
    assert "<pre><code>code here" in html
    assert '<img alt="chart" src="https://example.com/c.png">' in html


def test_scripts_javascript_links_and_event_handlers_are_removed():
    html = render_markdown(
        "Hello <script>document.cookie</script>\n\n[click](javascript:alert(1))\n\n"
        '<a href="https://ok.example" onclick="steal()">ok</a> <img src="https://x.example/a.png" onerror="bad()">\n\n'
        '<p style="color:red" onmouseover="bad()">styled</p><iframe src="https://evil.example"></iframe>'
    )
    lowered = html.lower()
    assert "<script" not in lowered and "document.cookie" not in lowered
    assert "javascript:" not in lowered
    assert "onclick" not in lowered and "onerror" not in lowered and "onmouseover" not in lowered
    assert "style=" not in lowered and "<iframe" not in lowered
    assert 'href="https://ok.example"' in html and "styled" in html
