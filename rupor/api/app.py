from ninja import NinjaAPI

api = NinjaAPI(title="Rupor API", version="1", urls_namespace="api")
