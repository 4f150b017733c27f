"""The web layer: server-rendered pages, the JSON API and the article renderers.

``medcite.web.app.create_app`` builds the application (it needs the ``web`` extra);
``medcite.web.render`` turns an article into text, Markdown or HTML with Jinja2 alone.
"""
