"""Generated scans for the OCR tests and benchmark: Chinese text drawn with a CJK font (Debian's fonts-noto-cjk) on
an A4 page at 300 dpi, turned a little, with speckle noise and a grey cast as a flatbed scanner leaves them, saved
as an image-only PDF (no text layer) or a JPEG. Seeded: the same arguments give the same bytes."""

from __future__ import annotations

import glob
import io
import random

from PIL import Image, ImageDraw, ImageFilter, ImageFont

DPI = 300
A4 = (2480, 3508)  # pixels at 300 dpi
FONT_GLOBS = ("/usr/share/fonts/**/NotoSansCJK-Regular.tt[cf]", "/usr/share/fonts/**/NotoSerifCJK-Regular.tt[cf]")

# Sentences of the kind a county's stamped decisions and reports hold, to build pages from.
SENTENCES = (
    "陵川县司法局行政复议决定书",
    "申请人不服被申请人作出的行政处罚决定，于二〇二三年三月五日向本机关申请行政复议。",
    "本机关依法受理后，经审查认为，被申请人认定事实清楚，证据确凿，适用依据正确，程序合法，内容适当。",
    "根据《中华人民共和国行政复议法》第二十八条第一款第一项的规定，决定维持被申请人作出的具体行政行为。",
    "申请人如不服本决定，可以自收到本决定书之日起十五日内向人民法院提起行政诉讼。",
    "县人民政府关于推进法治政府建设示范创建工作的实施方案",
    "各乡镇人民政府，县直各有关单位：为深入贯彻落实法治政府建设实施纲要，现将有关事项通知如下。",
    "一、健全依法决策机制，重大行政决策事项应当经过公众参与、专家论证、风险评估、合法性审查和集体讨论决定。",
    "二、严格规范公正文明执法，全面推行行政执法公示制度、执法全过程记录制度、重大执法决定法制审核制度。",
    "三、强化对行政权力的制约和监督，自觉接受人大监督、民主监督、司法监督和社会舆论监督。",
    "四、加强行政复议和行政应诉工作，行政机关负责人出庭应诉率达到百分之百。",
    "联系人：张明，联系电话：0356-1234567。附件：法治政府建设年度报告。",
)


def cjk_font_path() -> str | None:
    """The CJK font file on this machine, or None."""
    for pattern in FONT_GLOBS:
        found = sorted(glob.glob(pattern, recursive=True))
        if found:
            return found[0]
    return None


def page_text(seed: int, lines: int = 10) -> list[str]:
    """The lines of one page: a title, then sentences picked by seed."""
    rng = random.Random(seed)
    return [SENTENCES[0]] + [rng.choice(SENTENCES[1:]) for _ in range(lines - 1)]


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    out, line = [], ""
    for ch in text:
        if font.getlength(line + ch) > width:
            out.append(line)
            line = ch
        else:
            line += ch
    return [*out, line] if line else out


def draw_page(lines: list[str], *, seed: int, size_pt: int = 14, angle: float | None = None) -> Image.Image:
    """A greyscale scan of the lines: text at size_pt points, turned by angle degrees (by default ±1.5°, from
    seed), with speckle noise and a slight blur."""
    path = cjk_font_path()
    if path is None:
        raise RuntimeError("no CJK font installed (apt-get install fonts-noto-cjk)")
    rng = random.Random(seed)
    font = ImageFont.truetype(path, size=round(size_pt * DPI / 72), index=2 if path.endswith(".ttc") else 0)
    page = Image.new("L", A4, 255)
    draw = ImageDraw.Draw(page)
    margin, y = 250, 300
    height = round(size_pt * DPI / 72 * 1.6)
    for text in lines:
        for row in _wrap(text, font, A4[0] - 2 * margin):
            draw.text((margin, y), row, font=font, fill=rng.randint(0, 40))
            y += height
        if y > A4[1] - 300:
            break
    turned = page.rotate(rng.uniform(-1.5, 1.5) if angle is None else angle, fillcolor=255, resample=Image.BICUBIC)
    pixels = turned.load()
    for _ in range(A4[0] * A4[1] // 400):  # speckles: dust and toner
        x, yy = rng.randrange(A4[0]), rng.randrange(A4[1])
        pixels[x, yy] = rng.randint(0, 120)  # type: ignore[index]
    return turned.filter(ImageFilter.GaussianBlur(0.6)).point(lambda v: min(255, v + 12))  # paper is never white


def as_pdf(pages: list[Image.Image]) -> bytes:
    """An image-only PDF (a scan: no text layer) of the pages, each at 300 dpi."""
    out = io.BytesIO()
    first, *rest = [p.convert("RGB") for p in pages]
    first.save(out, format="PDF", resolution=DPI, save_all=True, append_images=rest)
    return out.getvalue()


def as_jpeg(page: Image.Image, quality: int = 80) -> bytes:
    """A JPEG of one page, as a phone or a scanner's 'save as picture' makes it."""
    out = io.BytesIO()
    page.convert("RGB").save(out, format="JPEG", quality=quality, dpi=(DPI, DPI))
    return out.getvalue()


def cer(expected: str, found: str) -> float:
    """The character error rate: edit distance between the texts (whitespace ignored) over the expected length."""
    a = "".join(expected.split())
    b = "".join(found.split())
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1] / max(len(a), 1)
