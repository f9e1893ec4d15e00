from __future__ import annotations

from uptake.catalog.rendering import embed_video, render_markdown


def test_markdown_becomes_html_with_tables_and_lists() -> None:
    html = render_markdown("# Title\n\n- one\n- two\n\n|a|b|\n|-|-|\n|1|2|\n")
    assert "<h1>Title</h1>" in html
    assert "<li>one</li>" in html
    assert "<td>1</td>" in html


def test_script_tags_are_removed_with_their_content() -> None:
    html = render_markdown("Hello <script>alert('x')</script> world")
    assert "<script" not in html
    assert "alert" not in html
    assert "Hello" in html


def test_event_handler_attributes_are_stripped() -> None:
    html = render_markdown('<img src="https://example.com/a.png" onerror="alert(1)">')
    assert "onerror" not in html
    assert 'src="https://example.com/a.png"' in html


def test_javascript_links_lose_their_href() -> None:
    html = render_markdown("[click](javascript:alert(1)) and <a href='JaVaScRiPt:alert(2)'>x</a>")
    assert "javascript" not in html.lower()
    assert "click" in html


def test_links_get_noopener_noreferrer() -> None:
    html = render_markdown("[site](https://example.com)")
    assert html == ('<p><a href="https://example.com" rel="noopener noreferrer">site</a></p>')


def test_iframes_styles_and_ids_do_not_survive() -> None:
    html = render_markdown(
        '<iframe src="https://evil.example"></iframe><p style="color:red" id="x">hi</p>'
        "<style>body{}</style>"
    )
    assert html == "<p>hi</p>"


def test_attribute_list_syntax_cannot_add_handlers() -> None:
    html = render_markdown('Text\n{: onclick="alert(1)" }')
    assert "onclick" not in html


def test_empty_markdown_renders_nothing() -> None:
    assert render_markdown("   \n") == ""


def test_uploaded_video_plays_in_a_video_element() -> None:
    html = embed_video(title="Intro", file_url="/authoring/files/3/")
    assert html.startswith('<video controls preload="metadata" aria-label="Intro">')
    assert '<source src="/authoring/files/3/" type="video/mp4">' in html


def test_direct_webm_url_plays_in_a_video_element() -> None:
    html = embed_video(title="Intro", url="https://cdn.example.com/v/intro.webm?x=1")
    assert "<video" in html
    assert 'type="video/webm"' in html


def test_other_video_sites_become_a_plain_link_not_an_iframe() -> None:
    html = embed_video(title="Intro", url="https://www.youtube.com/watch?v=abc")
    assert "<iframe" not in html
    assert "<script" not in html
    assert html.startswith(
        '<a href="https://www.youtube.com/watch?v=abc" rel="noopener noreferrer"'
    )


def test_a_javascript_video_url_renders_nothing() -> None:
    assert embed_video(title="x", url="javascript:alert(1)") == ""


def test_video_title_is_escaped() -> None:
    html = embed_video(title='"><script>', file_url="/f/1/")
    assert "<script>" not in html
    assert "&quot;&gt;&lt;script&gt;" in html
