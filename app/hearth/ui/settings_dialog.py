"""Settings: generation and retrieval options, where models are downloaded from, and the
window's look, validated before they are saved."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from hearth.settings import MAX_ANSWER_TOKENS, TEXT_SIZE_RANGE, InvalidSetting, Settings
from hearth.ui.accessibility import announce
from hearth.ui.theme import current as current_theme

# The theme setting's values and how the dialog names them.
THEME_CHOICES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.original = settings
        self.result_settings: Settings | None = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.threads = self._spin(1, 256, settings.n_threads)
        self.context = self._spin(256, 262144, settings.n_ctx, step=256)
        # auto (what fits), off, or a number of layers typed in.
        self.gpu = QComboBox()
        self.gpu.setEditable(True)
        self.gpu.addItems(["auto", "off"])
        self.gpu.setCurrentText(settings.gpu)
        self.gpu.setAccessibleName("GPU layers")
        self.gpu.setToolTip(
            "auto: as many layers on the GPU as fit; off: the CPU only; or a number of layers"
        )
        self.temperature = self._double(0.0, 2.0, settings.temperature, 0.05)
        self.top_p = self._double(0.01, 1.0, settings.top_p, 0.05)
        self.max_tokens = self._spin(16, MAX_ANSWER_TOKENS, settings.max_answer_tokens, step=16)
        self.sources = self._spin(1, 20, settings.sources_per_answer)
        self.tools = QCheckBox("Let the model use tools (search, calculator, …)")
        self.tools.setChecked(settings.tools_enabled)
        self.query_step = QCheckBox("Let the model read the question before searching")
        self.query_step.setToolTip(
            "Searches each part of a question that joins two events; about 2 s more per answer"
        )
        self.query_step.setChecked(settings.query_step)
        self.system_prompt = QPlainTextEdit(settings.system_prompt)
        self.system_prompt.setMaximumHeight(90)
        self.system_prompt.setTabChangesFocus(True)  # Tab moves on, as in every other field
        self.theme = QComboBox()
        for value, label in THEME_CHOICES:
            self.theme.addItem(label, value)
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))
        self.text_size = self._spin(*TEXT_SIZE_RANGE, settings.text_size, step=10)
        self.text_size.setSuffix(" %")
        from hearth.models.hub import DEFAULT_ENDPOINT  # the hub's client loads with it

        # Empty: huggingface.co. A company mirror goes here.
        self.hf_endpoint = QLineEdit(settings.hf_endpoint)
        self.hf_endpoint.setPlaceholderText(DEFAULT_ENDPOINT)
        self.hf_endpoint.setAccessibleName("Hugging Face endpoint")
        self.hf_endpoint.setToolTip(
            "Where Get models searches and downloads: huggingface.co or a mirror of it "
            "(HF_ENDPOINT in the environment, where set, is used instead)"
        )
        form.addRow("CPU threads", self.threads)
        form.addRow("Context size (tokens)", self.context)
        form.addRow("GPU layers (auto, off or a number)", self.gpu)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-p", self.top_p)
        form.addRow("Max answer tokens", self.max_tokens)
        form.addRow("Sources per answer", self.sources)
        form.addRow("", self.tools)
        form.addRow("", self.query_step)
        form.addRow("System prompt", self.system_prompt)
        form.addRow("Hugging Face endpoint", self.hf_endpoint)
        form.addRow("Colours", self.theme)
        form.addRow("Text size", self.text_size)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setObjectName("formError")
        self.error.setStyleSheet(f"color: {current_theme().error}")
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    @staticmethod
    def _spin(low: int, high: int, value: int, step: int = 1) -> QSpinBox:
        box = QSpinBox()
        box.setRange(low, high)
        box.setSingleStep(step)
        box.setValue(value)
        return box

    @staticmethod
    def _double(low: float, high: float, value: float, step: float) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(low, high)
        box.setSingleStep(step)
        box.setDecimals(2)
        box.setValue(value)
        return box

    def edited_settings(self) -> Settings:
        return replace(
            self.original,
            n_threads=self.threads.value(),
            n_ctx=self.context.value(),
            gpu=self.gpu.currentText().strip().lower(),
            temperature=self.temperature.value(),
            top_p=self.top_p.value(),
            max_answer_tokens=self.max_tokens.value(),
            sources_per_answer=self.sources.value(),
            tools_enabled=self.tools.isChecked(),
            query_step=self.query_step.isChecked(),
            system_prompt=self.system_prompt.toPlainText().strip(),
            hf_endpoint=self.hf_endpoint.text().strip(),
            theme=str(self.theme.currentData()),
            text_size=self.text_size.value(),
        )

    def accept(self) -> None:
        settings = self.edited_settings()
        try:
            settings.validate()
        except InvalidSetting as error:
            self.error.setText(str(error))
            self.error.show()
            announce(self.error, str(error), assertive=True)
            return
        self.result_settings = settings
        super().accept()
