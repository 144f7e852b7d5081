"""What an HLD is: read, check, layer and walk definitions; no network, no helm.

``layout`` builds and checks every path of a component; ``model`` reads definitions,
``config`` layers config, ``resolve`` walks the tree, ``hooks`` runs a component's hooks and
``installs`` reads the notes ``fab install`` leaves beside what it placed.
"""
