"""The seams between services: for each service that others call or listen to, one module with its topics,
event types and payloads, refusal codes and a typed client. Each imports only `kit`, so a service, an
activity or a workflow can use another service's contract without importing the service.
"""
