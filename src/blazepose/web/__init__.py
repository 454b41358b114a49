"""``blazepose serve``: a JSON API and a live browser demo over FastAPI (the ``web`` extra).

Nothing here is imported by ``import blazepose``; FastAPI and uvicorn load
only when :func:`blazepose.web.app.create_app` or ``serve`` is called.
"""
