"""Runs the independent SCIM conformance checker scim2-tester against a running server.

Usage: python run_scim2_tester.py <base url ending in /scim2> <bearer token>
Prints one JSON object per check on stdout: title, status, reason, resource_type, tags.
"""

import json
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server


def main() -> int:
    base_url, token = sys.argv[1], sys.argv[2]
    http = Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    client = SyncSCIMClient(http)
    for result in check_server(client):
        print(
            json.dumps(
                {
                    "title": result.title,
                    "status": result.status.name,
                    "reason": result.reason,
                    "resource_type": result.resource_type,
                    "tags": sorted(result.tags),
                }
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
