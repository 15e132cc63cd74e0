"""What the pages share for display: session state, the sidebar, the settings form, figures.

The only part of `lenet` that imports Streamlit or plotly; the engine beside it computes.
"""
