# modelkeep.mk: include this from a training project's Makefile.
#
#   include /usr/local/share/modelkeep/modelkeep.mk
#   train:
#   	python train.py --out current_model
#   	$(MAKE) snapshot MODELKEEP_DESCRIPTION="math 10k, lr 2e-4"
#
# Targets: snapshot (a new version of the adapter), backup (a verified emergency backup),
# consolidate (merge the adapter into the base model), versions, verify, nightly.
# Every variable below can be set before the include or on the make command line.

MODELKEEP_ROOT ?= models
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

.PHONY: snapshot backup consolidate versions verify nightly

snapshot:
	$(MODEL_VERSIONER) --root "$(MODELKEEP_ROOT)" create --adapter "$(MODELKEEP_ADAPTER)" \
	  --description "$(MODELKEEP_DESCRIPTION)" $(MODELKEEP_SNAPSHOT_FLAGS)

backup:
	$(BACKUP_MANAGER) --root "$(MODELKEEP_ROOT)" backup "$(MODELKEEP_ADAPTER)" --type emergency \
	  --reason "make backup" $(MODELKEEP_BACKUP_FLAGS)

consolidate:
	$(CONSOLIDATE_MODEL) --root "$(MODELKEEP_ROOT)" --base-dir . \
	  --description "$(MODELKEEP_DESCRIPTION)" $(MODELKEEP_CONSOLIDATE_FLAGS)

versions:
	$(MODEL_VERSIONER) --root "$(MODELKEEP_ROOT)" list

verify:
	$(MODEL_VERSIONER) --root "$(MODELKEEP_ROOT)" verify
	$(BACKUP_MANAGER) --root "$(MODELKEEP_ROOT)" verify --all

nightly:
	MODELKEEP_ROOT="$(MODELKEEP_ROOT)" MODELKEEP_BACKUP_MANAGER="$(BACKUP_MANAGER)" "$(MODELKEEP_NIGHTLY)"
