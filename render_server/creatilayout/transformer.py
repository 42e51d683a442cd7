"""SiamLayout on SD3: the CreatiLayout layout-to-image transformer, rebuilt from diffusers' SD3 parts.

The base (patch embedding, timestep/pooled conditioning, joint text-image blocks, final AdaLN) is
diffusers' SD3 MMDiT unchanged. SiamLayout adds one layout token per box slot (`position_net`) and, in
every block, a second "siamese" joint attention between the image tokens and the layout tokens
(`bbox_fuser_block`) whose image half is added to the image stream through `bbox_forward`, scaled by the
layout scale S. The state-dict names and shapes follow the released `SiamLayout_SD3` checkpoint; see
`docs/render_model.md` for how each part maps to the fixture facts.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.attention import AttentionMixin, FeedForward, JointTransformerBlock
from diffusers.models.attention_processor import Attention, JointAttnProcessor2_0
from diffusers.models.embeddings import (
    CombinedTimestepTextProjEmbeddings,
    PatchEmbed,
    PixArtAlphaTextProjection,
    get_fourier_embeds_from_boundingbox,
)
from diffusers.models.modeling_outputs import Transformer2DModelOutput
from diffusers.models.modeling_utils import ModelMixin
from diffusers.models.normalization import AdaLayerNormContinuous, AdaLayerNormZero
from torch import nn

# Sin and cos of 8 frequencies for each of the 4 box coordinates.
FOURIER_FREQUENCIES = 8
POSITION_EMBEDDING_DIM = FOURIER_FREQUENCIES * 2 * 4


class MissingWeightsError(RuntimeError):
    """A checkpoint lacks weights the model needs (the original only warned and initialised them randomly)."""


class SiamLayoutPositionNet(nn.Module):
    """Turns (box, phrase embedding, mask) slots into layout tokens.

    Padded slots (mask 0) take learned null features, substituted after the phrase projection, and still
    take part in attention: there is no attention mask anywhere in the model.
    """

    def __init__(self, phrase_dim: int, out_dim: int) -> None:
        super().__init__()
        self.text_embedder = PixArtAlphaTextProjection(phrase_dim, out_dim, act_fn="silu")
        self.linears = PixArtAlphaTextProjection(
            out_dim + POSITION_EMBEDDING_DIM, out_dim // 2, out_features=out_dim, act_fn="silu"
        )
        self.null_positive_feature = nn.Parameter(torch.zeros(out_dim))
        self.null_position_feature = nn.Parameter(torch.zeros(POSITION_EMBEDDING_DIM))

    @staticmethod
    def fourier_embedding(boxes: torch.Tensor) -> torch.Tensor:
        """[B, N, 4] xyxy boxes → [B, N, 64]; element f·8 + s·4 + c (frequency, sin/cos, coordinate)."""
        # Computed in float32: sin(100·x) in bf16 would lose the box position entirely.
        return get_fourier_embeds_from_boundingbox(FOURIER_FREQUENCIES, boxes.float())

    def forward(self, boxes: torch.Tensor, masks: torch.Tensor, phrase_embeddings: torch.Tensor) -> torch.Tensor:
        dtype = self.null_positive_feature.dtype
        masks = masks.to(dtype).unsqueeze(-1)
        position = self.fourier_embedding(boxes).to(dtype)
        position = position * masks + (1 - masks) * self.null_position_feature
        phrase = self.text_embedder(phrase_embeddings.to(dtype))
        phrase = phrase * masks + (1 - masks) * self.null_positive_feature
        return self.linears(torch.cat([phrase, position], dim=-1))


class SiamLayoutJointTransformerBlock(JointTransformerBlock):
    """An SD3 joint block plus the SiamLayout branch (image ↔ layout attention)."""

    def __init__(self, dim: int, num_attention_heads: int, attention_head_dim: int, context_pre_only: bool) -> None:
        super().__init__(dim, num_attention_heads, attention_head_dim, context_pre_only=context_pre_only)
        # The last block mirrors SD3's: its layout stream is only read, never updated, so it gets the
        # continuous AdaLN (scale, shift) and no output projection or feed-forward for layout tokens.
        if context_pre_only:
            self.norm1_bbox = AdaLayerNormContinuous(
                dim, dim, elementwise_affine=False, eps=1e-6, bias=True, norm_type="layer_norm"
            )
        else:
            self.norm1_bbox = AdaLayerNormZero(dim)
        self.bbox_fuser_block = Attention(
            query_dim=dim,
            cross_attention_dim=None,
            added_kv_proj_dim=dim,
            dim_head=attention_head_dim,
            heads=num_attention_heads,
            out_dim=dim,
            context_pre_only=context_pre_only,
            bias=True,
            processor=JointAttnProcessor2_0(),
            eps=1e-6,
        )
        self.bbox_forward = nn.Linear(dim, dim)
        # Zero-initialised so a fresh layout branch leaves the base SD3 output untouched.
        nn.init.zeros_(self.bbox_forward.weight)
        nn.init.zeros_(self.bbox_forward.bias)
        self.norm2_bbox: nn.LayerNorm | None
        self.ff_bbox: FeedForward | None
        if context_pre_only:
            self.norm2_bbox = None
            self.ff_bbox = None
        else:
            self.norm2_bbox = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
            self.ff_bbox = FeedForward(dim=dim, dim_out=dim, activation_fn="gelu-approximate")

    def forward(
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        layout_hidden_states: torch.Tensor,
        temb: torch.Tensor,
        bbox_scale: float = 1.0,
    ) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
        """Returns (text stream, image stream, layout stream); the last block returns None for both side streams."""
        norm_hidden_states, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.norm1(hidden_states, emb=temb)
        if self.context_pre_only:
            norm_encoder_hidden_states = self.norm1_context(encoder_hidden_states, temb)
        else:
            norm_encoder_hidden_states, c_gate_msa, c_shift_mlp, c_scale_mlp, c_gate_mlp = self.norm1_context(
                encoder_hidden_states, emb=temb
            )

        attn_output, context_attn_output = self.attn(
            hidden_states=norm_hidden_states, encoder_hidden_states=norm_encoder_hidden_states
        )
        attn_output = gate_msa.unsqueeze(1) * attn_output

        if bbox_scale != 0:
            layout_hidden_states, layout_image_output = self._layout_branch(
                norm_hidden_states, layout_hidden_states, temb
            )
            # The layout term is deliberately not gated by gate_msa; S scales only this term.
            attn_output = attn_output + bbox_scale * self.bbox_forward(layout_image_output)
        hidden_states = hidden_states + attn_output

        norm_hidden_states = self.norm2(hidden_states)
        norm_hidden_states = norm_hidden_states * (1 + scale_mlp[:, None]) + shift_mlp[:, None]
        hidden_states = hidden_states + gate_mlp.unsqueeze(1) * self.ff(norm_hidden_states)

        if self.context_pre_only:
            return None, hidden_states, None

        encoder_hidden_states = encoder_hidden_states + c_gate_msa.unsqueeze(1) * context_attn_output
        norm_encoder_hidden_states = self.norm2_context(encoder_hidden_states)
        norm_encoder_hidden_states = norm_encoder_hidden_states * (1 + c_scale_mlp[:, None]) + c_shift_mlp[:, None]
        encoder_hidden_states = encoder_hidden_states + c_gate_mlp.unsqueeze(1) * self.ff_context(
            norm_encoder_hidden_states
        )
        return encoder_hidden_states, hidden_states, layout_hidden_states

    def _layout_branch(
        self, norm_hidden_states: torch.Tensor, layout_hidden_states: torch.Tensor, temb: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Joint attention over [AdaLN-normalised image tokens; layout tokens].

        Returns the updated layout stream (None in the last block) and the image half of the attention.
        """
        if self.context_pre_only:
            norm_layout = self.norm1_bbox(layout_hidden_states, temb)
            image_output, _ = self.bbox_fuser_block(hidden_states=norm_hidden_states, encoder_hidden_states=norm_layout)
            return None, image_output

        # Every block but the last has the layout feed-forward (see __init__).
        assert self.norm2_bbox is not None and self.ff_bbox is not None
        norm_layout, b_gate_msa, b_shift_mlp, b_scale_mlp, b_gate_mlp = self.norm1_bbox(layout_hidden_states, emb=temb)
        image_output, layout_output = self.bbox_fuser_block(
            hidden_states=norm_hidden_states, encoder_hidden_states=norm_layout
        )
        layout_hidden_states = layout_hidden_states + b_gate_msa.unsqueeze(1) * layout_output
        norm_layout = self.norm2_bbox(layout_hidden_states)
        norm_layout = norm_layout * (1 + b_scale_mlp[:, None]) + b_shift_mlp[:, None]
        layout_hidden_states = layout_hidden_states + b_gate_mlp.unsqueeze(1) * self.ff_bbox(norm_layout)
        return layout_hidden_states, image_output


class SiamLayoutSD3Transformer2DModel(ModelMixin, AttentionMixin, ConfigMixin):
    """SD3 MMDiT with SiamLayout layout conditioning. Defaults are the released SD3-Medium sizes.

    `from_pretrained` raises `MissingWeightsError` when the checkpoint lacks any weight.
    """

    _supports_gradient_checkpointing = False
    _no_split_modules: ClassVar[list[str]] = ["SiamLayoutJointTransformerBlock"]
    _skip_layerwise_casting_patterns: ClassVar[list[str]] = ["pos_embed", "norm"]

    @register_to_config
    def __init__(
        self,
        sample_size: int = 128,
        patch_size: int = 2,
        in_channels: int = 16,
        num_layers: int = 24,
        attention_head_dim: int = 64,
        num_attention_heads: int = 24,
        joint_attention_dim: int = 4096,
        caption_projection_dim: int = 1536,
        pooled_projection_dim: int = 2048,
        out_channels: int = 16,
        pos_embed_max_size: int = 192,
        attention_type: str = "layout",
        max_boxes_per_image: int = 10,
    ) -> None:
        super().__init__()
        if attention_type != "layout":
            raise ValueError(f"attention_type must be 'layout' for a SiamLayout model, got {attention_type!r}")
        if max_boxes_per_image < 1:
            raise ValueError(f"max_boxes_per_image must be at least 1, got {max_boxes_per_image}")
        self.out_channels = out_channels if out_channels is not None else in_channels
        self.inner_dim = num_attention_heads * attention_head_dim
        if caption_projection_dim != self.inner_dim:
            raise ValueError(
                f"caption_projection_dim ({caption_projection_dim}) must equal num_attention_heads × "
                f"attention_head_dim ({self.inner_dim})"
            )

        self.pos_embed = PatchEmbed(
            height=sample_size,
            width=sample_size,
            patch_size=patch_size,
            in_channels=in_channels,
            embed_dim=self.inner_dim,
            pos_embed_max_size=pos_embed_max_size,
        )
        self.time_text_embed = CombinedTimestepTextProjEmbeddings(
            embedding_dim=self.inner_dim, pooled_projection_dim=pooled_projection_dim
        )
        self.context_embedder = nn.Linear(joint_attention_dim, caption_projection_dim)
        # Phrase embeddings are the same concatenated CLIP-L/G projections as the pooled prompt vector.
        self.position_net = SiamLayoutPositionNet(phrase_dim=pooled_projection_dim, out_dim=self.inner_dim)
        self.transformer_blocks = nn.ModuleList(
            [
                SiamLayoutJointTransformerBlock(
                    dim=self.inner_dim,
                    num_attention_heads=num_attention_heads,
                    attention_head_dim=attention_head_dim,
                    context_pre_only=i == num_layers - 1,
                )
                for i in range(num_layers)
            ]
        )
        self.norm_out = AdaLayerNormContinuous(self.inner_dim, self.inner_dim, elementwise_affine=False, eps=1e-6)
        self.proj_out = nn.Linear(self.inner_dim, patch_size * patch_size * self.out_channels, bias=True)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any):
        """diffusers' loader, but a missing or mis-shaped weight is an error rather than a warning."""
        wants_info = kwargs.pop("output_loading_info", False)
        model, info = super().from_pretrained(pretrained_model_name_or_path, output_loading_info=True, **kwargs)
        problems = []
        if info["missing_keys"]:
            problems.append(f"missing {len(info['missing_keys'])} weight(s): {sorted(info['missing_keys'])[:20]}")
        if info["mismatched_keys"]:
            problems.append(f"mis-shaped weight(s): {info['mismatched_keys'][:20]}")
        if problems:
            location = pretrained_model_name_or_path
            if kwargs.get("subfolder"):
                location = f"{location} (subfolder {kwargs['subfolder']})"
            raise MissingWeightsError(
                f"the checkpoint at {location} does not fit {cls.__name__}: " + "; ".join(problems)
            )
        return (model, info) if wants_info else model

    def embed_layout(self, boxes: torch.Tensor, masks: torch.Tensor, phrase_embeddings: torch.Tensor) -> torch.Tensor:
        """Layout tokens [B, max_boxes_per_image, d], padding fewer slots with null (mask 0) slots."""
        max_boxes = self.config.max_boxes_per_image
        num_boxes = boxes.shape[1]
        if num_boxes > max_boxes:
            raise ValueError(f"at most {max_boxes} layout boxes per image (max_boxes_per_image), got {num_boxes}")
        if phrase_embeddings.shape[-1] != self.config.pooled_projection_dim:
            raise ValueError(
                f"layout phrase embeddings must have {self.config.pooled_projection_dim} features "
                f"(pooled_projection_dim), got {phrase_embeddings.shape[-1]}"
            )
        if num_boxes < max_boxes:
            # Every slot takes part in attention, so a short layout must be padded to match padded inputs.
            pad = max_boxes - num_boxes
            boxes = nn.functional.pad(boxes, (0, 0, 0, pad))
            phrase_embeddings = nn.functional.pad(phrase_embeddings, (0, 0, 0, pad))
            masks = nn.functional.pad(masks, (0, pad))
        return self.position_net(boxes=boxes, masks=masks, phrase_embeddings=phrase_embeddings)

    def forward(
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        pooled_projections: torch.Tensor,
        timestep: torch.Tensor,
        layout_kwargs: dict[str, Any] | None = None,
        bbox_scale: float = 1.0,
        return_dict: bool = True,
    ) -> Transformer2DModelOutput | tuple[torch.Tensor]:
        """Velocity prediction [B, C, H, W] for latents [B, C, H, W].

        layout_kwargs = {"layout": {"boxes": [B,N,4] xyxy in 0..1, "positive_embeddings": [B,N,pooled_dim],
        "masks": [B,N] (1 real, 0 padding)}} with N <= max_boxes_per_image. bbox_scale (S) scales the
        layout term; S = 0 skips the branch and gives plain SD3. Without layout_kwargs the layout stream
        starts as zeros (the reference's behaviour).
        """
        height, width = hidden_states.shape[-2:]
        batch_size = hidden_states.shape[0]

        hidden_states = self.pos_embed(hidden_states).contiguous()
        temb = self.time_text_embed(timestep, pooled_projections)
        encoder_hidden_states = self.context_embedder(encoder_hidden_states)

        layout = (layout_kwargs or {}).get("layout")
        if layout is not None:
            layout_hidden_states = self.embed_layout(
                boxes=layout["boxes"], masks=layout["masks"], phrase_embeddings=layout["positive_embeddings"]
            )
        else:
            layout_hidden_states = hidden_states.new_zeros(
                (batch_size, self.config.max_boxes_per_image, self.inner_dim)
            )

        for block in self.transformer_blocks:
            encoder_hidden_states, hidden_states, new_layout = block(
                hidden_states=hidden_states,
                encoder_hidden_states=encoder_hidden_states,
                layout_hidden_states=layout_hidden_states,
                temb=temb,
                bbox_scale=bbox_scale,
            )
            if new_layout is not None:
                layout_hidden_states = new_layout

        hidden_states = self.norm_out(hidden_states, temb)
        hidden_states = self.proj_out(hidden_states)

        patch_size = self.config.patch_size
        height, width = height // patch_size, width // patch_size
        hidden_states = hidden_states.reshape(batch_size, height, width, patch_size, patch_size, self.out_channels)
        hidden_states = torch.einsum("nhwpqc->nchpwq", hidden_states)
        output = hidden_states.reshape(batch_size, self.out_channels, height * patch_size, width * patch_size)

        if not return_dict:
            return (output,)
        return Transformer2DModelOutput(sample=output)
