"""The app: `streamlit run app.py`. Its pages are files in pages/, declared in lenet/ui/navigation.py."""

from lenet.ui.navigation import declare

declare().run()
