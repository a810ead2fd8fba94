"""Outbound platform clients (Huawei OceanConnect, OneNET) and the platforms' vocabularies."""
