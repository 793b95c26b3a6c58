"""Controllers outside a Jupyter server: the background controller started on demand
(:mod:`.autostart`) and ``jupyter pipes controller`` (:mod:`.loop`). See docs/controller.md."""
