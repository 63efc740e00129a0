"""Small builders for DataHub dataset aspects: urns, schemas from SQL or Arrow types, tags, owners."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from datahub.emitter import mce_builder
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.metadata.schema_classes import (
    BooleanTypeClass,
    DateTypeClass,
    GlobalTagsClass,
    NullTypeClass,
    NumberTypeClass,
    OtherSchemaClass,
    OwnerClass,
    OwnershipClass,
    OwnershipTypeClass,
    SchemaFieldClass,
    SchemaFieldDataTypeClass,
    SchemaMetadataClass,
    StringTypeClass,
    TagAssociationClass,
    TimeTypeClass,
)

from ingest.core.personal import looks_personal

ENV = "PROD"
PII_TAG = "pii"
INGEST_OWNER = "data-platform"  # the team that runs ingest and extract (the DAG's owner)


@dataclass(frozen=True)
class Field:
    """A column as DataHub shows it: name, the platform's own type, and whether it may be NULL."""

    name: str
    native_type: str
    nullable: bool = True


def dataset_urn(platform: str, name: str) -> str:
    return mce_builder.make_dataset_urn(platform, name, ENV)


def _type_class(native: str) -> SchemaFieldDataTypeClass:
    """DataHub's type for a SQL (contract) or Arrow type name."""
    t = native.lower()
    kind: Any = NullTypeClass  # the generated classes' constructors are untyped
    if t.startswith(("tinyint(1)", "bool")):
        kind = BooleanTypeClass
    elif t.startswith(("tinyint", "smallint", "int", "bigint", "uint", "decimal", "double", "float", "numeric")):
        kind = NumberTypeClass
    elif t.startswith(("char", "varchar", "text", "string", "large_string")):
        kind = StringTypeClass
    elif t.startswith(("datetime", "timestamp")):
        kind = TimeTypeClass
    elif t.startswith("date"):
        kind = DateTypeClass
    return SchemaFieldDataTypeClass(type=kind())


def schema_mcp(urn: str, platform: str, schema_name: str, fields: Iterable[Field]) -> MetadataChangeProposalWrapper:
    """SchemaMetadata with personal-looking columns tagged `pii` (the same rule as the policy check)."""
    schema_fields = [
        SchemaFieldClass(
            fieldPath=f.name,
            type=_type_class(f.native_type),
            nativeDataType=f.native_type,
            nullable=f.nullable,
            globalTags=GlobalTagsClass(tags=[TagAssociationClass(tag=mce_builder.make_tag_urn(PII_TAG))])
            if looks_personal(f.name)
            else None,
        )
        for f in fields
    ]
    return MetadataChangeProposalWrapper(
        entityUrn=urn,
        aspect=SchemaMetadataClass(
            schemaName=schema_name,
            platform=mce_builder.make_data_platform_urn(platform),
            version=0,
            hash="",
            platformSchema=OtherSchemaClass(rawSchema=""),
            fields=schema_fields,
        ),
    )


def ownership_mcp(urn: str, group: str = INGEST_OWNER) -> MetadataChangeProposalWrapper:
    return MetadataChangeProposalWrapper(
        entityUrn=urn,
        aspect=OwnershipClass(
            owners=[OwnerClass(owner=mce_builder.make_group_urn(group), type=OwnershipTypeClass.TECHNICAL_OWNER)]
        ),
    )
