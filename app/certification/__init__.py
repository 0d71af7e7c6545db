"""Certifications, certificates, verification and certificate PDFs."""
