"""WeasyPrint for the school letters, without Django: a letter run's renderer process.

`pupils.letters.PdfPartRenderer` starts `python -m pupils.pdf_render` (LETTERS_RENDER_PROCESSES
of them per run) and sends it jobs on its stdin: a JSON header line
`{"length": <bytes of HTML>, "path": <the part's file>, "base_url": <for relative URLs>}`
followed by that many bytes of UTF-8 HTML (pupils.letters.letters_html). It writes the tagged
PDF part at `path` and answers one line on its stdout: `ok`, or `error <exception class>`
(never the exception's text: it may quote the HTML, which holds passwords). It exits at the
end of its stdin (the run is over, or its process died). No Django here: the process starts in
about a second and holds only WeasyPrint's memory.
"""

from __future__ import annotations

import gc
import json
import logging
import sys

logger = logging.getLogger(__name__)


def pdf_write(html: str, *, base_url: str, target, uncompressed: bool) -> None:
    """Render `html` as a tagged PDF (PDF/UA-1: structure tree, MarkInfo, language, title)
    into `target` (a path or a binary file). `uncompressed`: no object streams (a run's
    parts: pypdf reads them twice as fast when they are merged)."""
    from weasyprint import HTML

    HTML(string=html, base_url=base_url).write_pdf(
        target, pdf_variant="pdf/ua-1", pdf_tags=True, uncompressed_pdf=uncompressed)


def serve(jobs, replies) -> int:
    """Render the jobs read from `jobs` (binary, see the module's docstring) until its end,
    answering on `replies`; returns the number of parts written."""
    written = 0
    while True:
        header = jobs.readline()
        if not header:
            return written
        job = json.loads(header)
        html = jobs.read(job["length"]).decode()
        try:
            pdf_write(html, base_url=job["base_url"], target=job["path"], uncompressed=True)
        except Exception as exc:  # answered: the run fails
            logger.error("Letter part not rendered: %s", type(exc).__name__)
            replies.write(b"error %s\n" % type(exc).__name__.encode())
        else:
            written += 1
            replies.write(b"ok\n")
        replies.flush()
        del html
        gc.collect()  # the part's cycles, before the next part (collector_tune)


def collector_tune() -> None:
    """Make Python's cycle collector run less often in a renderer process: WeasyPrint
    allocates millions of short-lived objects per part, and with the default threshold (a
    collection every 700 allocations) the collector walks them again and again. WeasyPrint
    and its fonts are imported first and frozen (never walked again), then the youngest
    generation is collected every 50,000 allocations: about a tenth less CPU per page
    (bench/README.md). `serve` collects after each part: the memory stays bounded by one
    part."""
    import weasyprint  # noqa: F401 (loaded before the freeze)

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    collector_tune()
    serve(sys.stdin.buffer, sys.stdout.buffer)
