"""A vendor-faithful sandbox: ConnectWise PSA, Autotask and HaloPSA emulated over real HTTP.

Each emulation serves payloads from `fixtures/<vendor>/`, shaped like the vendor's documented
responses, checks authentication like the vendor does, and can be made to misbehave on request
(429 with Retry-After, 5xx, slow answers, a record changing mid-sync).
"""
