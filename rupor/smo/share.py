"""Share buttons for the company's site: one self-contained snippet (HTML, CSS and a small
script), with inline SVG marks and no third-party script.

Pure: :class:`ShareOptions` and the tagged addresses in, the snippet out. Everything a person
typed reaches the snippet only escaped, as attribute values or text; the script is a constant
that reads its settings from ``data-`` attributes, so no typed value is ever inside ``<script>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils import translation
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from rupor.smo.catalog import SHARE_KEYS, SHARE_TARGETS, WEB_SHARE, icon_for

STYLES = ("icons", "icons_labels", "labels")
SIZES = {"sm": (32, 16, 13), "md": (40, 20, 14), "lg": (48, 24, 16)}  # height, icon, font (px)
COLOURS = ("brand", "mono")
PAGES = ("current", "fixed")
LANGUAGES = ("en", "ru", "ko")
DEFAULT_MONO = "#1f2937"
DEFAULT_INSTANCE = "mastodon.social"
_HEX = re.compile(r"^#[0-9a-f]{6}$")
_INSTANCE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class ShareOptions:
    """What a person chose for their buttons (checked by the service)."""

    networks: tuple[str, ...] = ("vk", "telegram", "ok", WEB_SHARE)
    style: str = "icons_labels"
    size: str = "md"
    colour: str = "brand"
    mono_colour: str = DEFAULT_MONO
    page: str = "current"
    url: str = ""
    title: str = ""
    utm: bool = True
    campaign: str = "share_buttons"
    language: str = "en"
    instance: str = DEFAULT_INSTANCE


def valid_colour(value: str) -> bool:
    return bool(_HEX.match(value))


def valid_instance(value: str) -> bool:
    return bool(_INSTANCE.match(value))


# -- colour ----------------------------------------------------------------------------------


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on_white_text(hex_colour: str) -> str:
    """``hex_colour``, darkened in steps until white text on it reaches 4.5:1 (WCAG AA)."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    colour = hex_colour
    while contrast(colour, "#ffffff") < 4.5:
        r, g, b = (int(c * 0.92) for c in (r, g, b))
        colour = f"#{r:02x}{g:02x}{b:02x}"
    return colour


def text_on(background: str) -> str:
    """White or near-black, whichever reads better on ``background``."""
    return "#ffffff" if contrast(background, "#ffffff") >= contrast(background, "#111111") else "#111111"


# -- the snippet -----------------------------------------------------------------------------


def _svg(key: str, size: int) -> SafeString:
    return format_html(
        '<svg viewBox="0 0 24 24" width="{}" height="{}" aria-hidden="true" focusable="false">'
        '<path fill="currentColor" d="{}"/></svg>',
        size,
        size,
        icon_for(key).path,
    )


def _css(options: ShareOptions) -> str:
    height, icon, font = SIZES[options.size]
    pad = 0 if options.style == "icons" else height // 3
    width = f"width:{height}px;" if options.style == "icons" else ""
    rules = [
        ".rs-share{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:0;padding:0;"
        f"font:500 {font}px/1 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}}",
        ".rs-share .rs-btn{display:inline-flex;align-items:center;justify-content:center;gap:8px;"
        f"box-sizing:border-box;height:{height}px;{width}padding:0 {pad}px;border:0;border-radius:8px;"
        "cursor:pointer;text-decoration:none;font:inherit;line-height:1}",
        f".rs-share .rs-btn svg{{flex:none;width:{icon}px;height:{icon}px}}",
        ".rs-share .rs-btn:hover{filter:brightness(.92)}",
        ".rs-share .rs-btn:focus-visible{outline:2px solid #fff;outline-offset:0;box-shadow:0 0 0 4px #111827}",
        ".rs-share [hidden]{display:none!important}",
        ".rs-share details{position:relative}",
        ".rs-share summary{list-style:none}.rs-share summary::-webkit-details-marker{display:none}",
        ".rs-share .rs-instance{position:absolute;z-index:10;top:calc(100% + 6px);left:0;display:grid;"
        "gap:6px;width:240px;padding:12px;background:#fff;color:#111;border:1px solid #d1d5db;"
        "border-radius:8px;box-shadow:0 4px 16px rgba(0,0,0,.15)}",
        ".rs-share .rs-instance input{height:32px;padding:0 8px;border:1px solid #6b7280;border-radius:6px;font:inherit}",
        ".rs-share .rs-instance button{height:32px;border:0;border-radius:6px;cursor:pointer;font:inherit;"
        "background:#111827;color:#fff}",
    ]
    for key in options.networks:
        if options.colour == "mono":
            background = options.mono_colour
        else:
            background = readable_on_white_text(icon_for(key).colour if key != WEB_SHARE else "#374151")
        rules.append(f".rs-share .rs-{key}{{background:{background};color:{text_on(background)}}}")
    return "\n".join(rules)


#: The buttons' behaviour. A constant: its settings come from data- attributes. It fills the
#: current page's address and title ("current page"), tags each address per network when asked,
#: shows the Web Share button where the browser has navigator.share, and asks Mastodon users for
#: their server (remembered in localStorage) before opening its share page.
SCRIPT = """(function(){
var boxes=document.querySelectorAll('.rs-share:not([data-rs-ready])');
function tagged(box,net){
 var u=new URL(box.getAttribute('data-rs-url')||location.href,location.href);
 if(box.hasAttribute('data-rs-utm-medium')){
  var tags={utm_source:net,utm_medium:box.getAttribute('data-rs-utm-medium'),
   utm_campaign:box.getAttribute('data-rs-utm-campaign'),utm_content:'share_button'};
  for(var k in tags){if(tags[k]&&!u.searchParams.has(k)){u.searchParams.set(k,tags[k]);}}
 }
 return u.href;
}
function title(box){return box.getAttribute('data-rs-title')||document.title;}
function fill(t,url,text){
 return t.replace('{url}',encodeURIComponent(url)).replace('{title}',encodeURIComponent(text))
  .replace('{text}',encodeURIComponent((text+' '+url).trim()));
}
Array.prototype.forEach.call(boxes,function(box){
 box.setAttribute('data-rs-ready','');
 box.querySelectorAll('a[data-rs-share]').forEach(function(a){
  if(a.getAttribute('href')==='#'){a.href=fill(a.getAttribute('data-rs-share'),tagged(box,a.getAttribute('data-rs-net')),title(box));}
 });
 var native=box.querySelector('.rs-web_share');
 if(native&&navigator.share){
  native.hidden=false;
  native.addEventListener('click',function(){
   navigator.share({title:title(box),url:tagged(box,'web_share')}).catch(function(){});
  });
 }
 var form=box.querySelector('.rs-instance');
 if(form){
  var input=form.querySelector('input');
  try{input.value=localStorage.getItem('rs-mastodon')||input.value;}catch(e){}
  form.addEventListener('submit',function(e){
   e.preventDefault();
   var host=input.value.trim().toLowerCase().replace(/^https?:\\/\\//,'').replace(/[\\/?#].*$/,'');
   if(!/^([a-z0-9-]+\\.)+[a-z0-9-]+$/.test(host)){input.setCustomValidity(form.getAttribute('data-rs-bad'));input.reportValidity();return;}
   input.setCustomValidity('');
   try{localStorage.setItem('rs-mastodon',host);}catch(e){}
   window.open(fill('https://'+host+'/share?text={text}',tagged(box,'mastodon'),title(box)),'_blank','noopener');
  });
 }
});
})();"""


def _label(key: str) -> str:
    if key == WEB_SHARE:
        return _("Share…")
    return SHARE_TARGETS[key].name


def _aria(key: str) -> str:
    if key == WEB_SHARE:
        return _("Share with an app on this device")
    return _("Share on %(network)s") % {"network": SHARE_TARGETS[key].name}


def _content(key: str, options: ShareOptions) -> SafeString:
    _height, icon, _font = SIZES[options.size]
    parts: list[SafeString] = []
    if options.style != "labels":
        parts.append(_svg(key if key != WEB_SHARE else "share", icon))
    if options.style != "icons":
        parts.append(format_html('<span class="rs-label">{}</span>', _label(key)))
    return mark_safe("".join(parts))  # noqa: S308 - every part above is format_html output


def _button(key: str, options: ShareOptions, links: Mapping[str, str]) -> SafeString:
    content = _content(key, options)
    title = _aria(key)
    if key == WEB_SHARE:
        return format_html(
            '<button type="button" class="rs-btn rs-{}" aria-label="{}" title="{}" hidden>{}</button>',
            key,
            title,
            title,
            content,
        )
    target = SHARE_TARGETS[key]
    if target.needs_instance:
        return format_html(
            '<details class="rs-mastodon-box"><summary class="rs-btn rs-{}" aria-label="{}" title="{}">{}</summary>'
            '<form class="rs-instance" data-rs-bad="{}"><label>{} <input name="instance" value="{}" '
            'autocomplete="url" required inputmode="url" placeholder="{}"></label>'
            '<button type="submit">{}</button></form></details>',
            key,
            title,
            title,
            content,
            _("Type a server name such as mastodon.social."),
            _("Your Mastodon server"),
            options.instance,
            DEFAULT_INSTANCE,
            _("Share"),
        )
    fixed = options.page == "fixed"
    return format_html(
        '<a class="rs-btn rs-{}" href="{}" data-rs-share="{}" data-rs-net="{}" target="_blank" '
        'rel="noopener noreferrer" aria-label="{}" title="{}">{}</a>',
        key,
        target.link(links.get(key, options.url), options.title) if fixed else "#",
        target.template,
        key,
        title,
        title,
        content,
    )


def snippet(options: ShareOptions, links: Mapping[str, str], medium: str) -> str:
    """The snippet for ``options``. ``links``: the fixed page's address as shared on each network
    (UTM-tagged where asked); ``medium``: the workspace's utm_medium. Labels are in
    ``options.language``; a fixed page's buttons work without the script."""
    with translation.override(options.language):
        attrs = [("class", "rs-share"), ("role", "group"), ("aria-label", _("Share this page"))]
        if options.page == "fixed":
            attrs += [("data-rs-url", options.url), ("data-rs-title", options.title)]
        if options.utm:
            attrs += [("data-rs-utm-medium", medium), ("data-rs-utm-campaign", options.campaign)]
        names = ", ".join(_label(k) if k != WEB_SHARE else "Web Share" for k in options.networks)
        buttons = format_html_join(
            "\n  ", "{}", ((_button(key, options, links),) for key in options.networks)
        )
        opening = " ".join(f'{name}="{escape(value)}"' for name, value in attrs)
        return (
            f"<!-- Share buttons made with Rupor: {escape(names)}. No third-party script. -->\n"
            f"<style>\n{_css(options)}\n</style>\n"
            f"<div {opening}>\n  {buttons}\n</div>\n"
            f"<script>\n{SCRIPT}\n</script>\n"
        )


def is_share_key(key: str) -> bool:
    return key in SHARE_KEYS
