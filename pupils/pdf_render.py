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


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    serve(sys.stdin.buffer, sys.stdout.buffer)
