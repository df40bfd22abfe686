"""HTTP adapters of the portal service: one APIRouter per concept, registered by kbgen.app."""
