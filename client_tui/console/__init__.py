"""The Textual operator console: one flow (Watched -> Recommendations -> Scenario & layout ->
Render -> Summary), one widget per concern, messages up to the app, attributes down to widgets."""
