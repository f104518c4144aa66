"""The Streamlit chat: renders and keeps session state; decisions live in qa_bot."""
