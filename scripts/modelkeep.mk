# modelkeep.mk: include this from a training project's Makefile.
#
#   include /usr/local/share/modelkeep/modelkeep.mk
#   train:
#   	python train.py --out current_model
#   	$(MAKE) snapshot MODELKEEP_DESCRIPTION="math 10k, lr 2e-4"
#
# Targets: snapshot (a new version of the adapter), backup (a verified emergency backup),
# consolidate (merge the adapter into the base model), versions, catalog (every model), verify,
# nightly.
# Every variable below can be set before the include or on the make command line.
# MODELKEEP_MODEL names the model that snapshot, backup, consolidate and versions work on (empty:
# the default model); verify and nightly cover MODELKEEP_MODELS (empty: every model in the root).

MODELKEEP_ROOT ?= models
MODELKEEP_MODEL ?=
MODELKEEP_MODELS ?=
MODELKEEP_ADAPTER ?= current_model
MODELKEEP_DESCRIPTION ?= $(error set MODELKEEP_DESCRIPTION="what this training run did")
MODELKEEP_SNAPSHOT_FLAGS ?=
MODELKEEP_BACKUP_FLAGS ?= --format tar.zst
MODELKEEP_CONSOLIDATE_FLAGS ?=
MODELKEEP_BIN ?=
MODEL_VERSIONER ?= $(MODELKEEP_BIN)model-versioner
BACKUP_MANAGER ?= $(MODELKEEP_BIN)backup-manager
CONSOLIDATE_MODEL ?= $(MODELKEEP_BIN)consolidate-model
MODELKEEP_NIGHTLY ?= $(dir $(lastword $(MAKEFILE_LIST)))nightly-retention.sh

_MODELKEEP_AT = --root "$(MODELKEEP_ROOT)" $(if $(MODELKEEP_MODEL),--model "$(MODELKEEP_MODEL)")

.PHONY: snapshot backup consolidate versions verify catalog nightly

snapshot:
	$(MODEL_VERSIONER) $(_MODELKEEP_AT) create --adapter "$(MODELKEEP_ADAPTER)" \
	  --description "$(MODELKEEP_DESCRIPTION)" $(MODELKEEP_SNAPSHOT_FLAGS)

backup:
	$(BACKUP_MANAGER) $(_MODELKEEP_AT) backup "$(MODELKEEP_ADAPTER)" --type emergency \
	  --reason "make backup" $(MODELKEEP_BACKUP_FLAGS)

consolidate:
	$(CONSOLIDATE_MODEL) $(_MODELKEEP_AT) --base-dir . \
	  --description "$(MODELKEEP_DESCRIPTION)" $(MODELKEEP_CONSOLIDATE_FLAGS)

versions:
	$(MODEL_VERSIONER) $(_MODELKEEP_AT) list

catalog:
	$(MODEL_VERSIONER) --root "$(MODELKEEP_ROOT)" catalog

verify:
ifeq ($(strip $(MODELKEEP_MODELS)),)
	$(MODEL_VERSIONER) --root "$(MODELKEEP_ROOT)" verify --all-models
	$(BACKUP_MANAGER) --root "$(MODELKEEP_ROOT)" verify --all --all-models
else
	set -e; for m in $(MODELKEEP_MODELS); do \
	  $(MODEL_VERSIONER) --root "$(MODELKEEP_ROOT)" --model "$$m" verify; \
	  $(BACKUP_MANAGER) --root "$(MODELKEEP_ROOT)" --model "$$m" verify --all; \
	done
endif

nightly:
	MODELKEEP_ROOT="$(MODELKEEP_ROOT)" MODELKEEP_MODELS="$(MODELKEEP_MODELS)" \
	  MODELKEEP_BACKUP_MANAGER="$(BACKUP_MANAGER)" "$(MODELKEEP_NIGHTLY)"
