class ChannelsDatabaseRouter:
    """Keep the embedded channel layer's SQLite file for channels_lite alone.

    channels_lite's own router sends its models to that file but lets every other app
    migrate there too; this one refuses them.
    """

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == "channels":
            return app_label == "channels_lite"
        return None
