"""Turning what authors write into HTML that is safe to show to every learner.

`render_markdown` is the only way author-written text becomes HTML: Markdown (with the `extra`
and `sane_lists` extensions) is converted, then sanitised with nh3 against an allow-list, so
raw HTML in the Markdown (which Markdown passes through) cannot carry scripts, event
handlers or `javascript:` URLs. Video helpers never load third-party iframes or scripts: a
direct video file plays in an HTML5 <video>, anything else is a plain link.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import markdown
import nh3
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from uptake.catalog import rules

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt",
        "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
        "ins", "kbd", "li", "mark", "ol", "p", "pre", "s", "small", "span", "strong", "sub",
        "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip

# No "style", no "id" (DOM clobbering), no "rel"/"target" (nh3 sets rel itself), no on*.
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "td": {"align", "colspan", "rowspan"},
}

URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})

# Removed together with everything inside them, not just unwrapped.
CLEAN_CONTENT_TAGS: frozenset[str] = frozenset({"script", "style", "iframe", "object", "embed"})

LINK_REL = "noopener noreferrer"


def sanitize_html(html: str) -> str:
    """Strip everything outside the allow-list; links get rel="noopener noreferrer"."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render_markdown(text: str) -> str:
    """Markdown as written by an author -> sanitised HTML (a plain str; safe to mark safe)."""
    if not text or not text.strip():
        return ""
    html = markdown.markdown(text, extensions=["extra", "sane_lists"], output_format="html")
    return sanitize_html(html).strip()


def video_mime_type(url: str) -> str:
    """The MIME type of a direct video URL or file name, by its extension."""
    path = urlsplit(url).path.lower()
    ext = path.rsplit(".", 1)[-1] if "." in path else ""
    return {"mp4": "video/mp4", "webm": "video/webm", "ogg": "video/ogg", "ogv": "video/ogg"}.get(
        ext, "video/mp4"
    )


def video_element(*, src: str, title: str) -> SafeString:
    """An HTML5 <video> for a file we serve or a direct .mp4/.webm URL, with a download link
    as the fallback for browsers that cannot play it."""
    return format_html(
        '<video controls preload="metadata" aria-label="{title}">'
        '<source src="{src}" type="{mime}">'
        '<a href="{src}" rel="{rel}">{fallback}</a>'
        "</video>",
        title=title,
        src=src,
        mime=video_mime_type(src),
        rel=LINK_REL,
        fallback=_("Download the video"),
    )


def external_link(*, url: str, title: str) -> SafeString:
    """A plain link that opens elsewhere: no third-party player is embedded."""
    return format_html(
        '<a href="{url}" rel="{rel}" target="_blank">{label}</a>',
        url=url,
        rel=LINK_REL,
        label=_("Watch “%(title)s” (opens the video site)") % {"title": title},
    )


def embed_video(*, title: str, file_url: str | None = None, url: str = "") -> SafeString:
    """The element that shows a video activity.

    `file_url` (an uploaded file, served by our protected view) wins over `url`. A URL that is a
    direct .mp4/.webm/.ogg file plays in a <video>; any other http(s) URL becomes a plain link;
    anything else (e.g. a `javascript:` URL) renders nothing.
    """
    if file_url:
        return video_element(src=file_url, title=title)
    if url and rules.url_problem(url) is None:
        if rules.is_direct_video_url(url):
            return video_element(src=url, title=title)
        return external_link(url=url, title=title)
    return mark_safe("")
